//! Decryption of real records: RFC 8448's Simple 1-RTT Handshake, the "Illustrated TLS 1.2 /
//! 1.3" captures (github.com/syncsynchalt/illustrated-tls12 and -tls13, MIT), and records made
//! here with OpenSSL 3.0 (Python `ssl` in memory, `openssl s_client`/`s_server`) for the suites
//! the public captures lack: TLS 1.2 ChaCha20-Poly1305, AES-CBC-SHA384 with encrypt-then-MAC,
//! TLS 1.3 ChaCha20-Poly1305 with KeyUpdate. Each record is `header || fragment` in hex, with
//! the key log lines that decrypt it. The AEAD tags and MACs make these self-checking: a byte
//! wrong anywhere fails authentication.

use super::test_util::hex;
use super::*;

fn split_record(record: &str) -> ([u8; 5], Vec<u8>) {
    let bytes = hex(record);
    let (header, fragment) = bytes.split_at(5);
    (header.try_into().unwrap(), fragment.to_vec())
}

fn open(decryptor: &mut RecordDecryptor, record: &str) -> Plaintext {
    let (header, fragment) = split_record(record);
    decryptor
        .decrypt(&header, &fragment)
        .expect("record authenticates")
}

fn random(text: &str) -> [u8; 32] {
    hex(text).try_into().unwrap()
}

fn secrets_for(keylog: &str, client_random: &[u8; 32]) -> SessionSecrets {
    let mut log = KeyLog::new();
    let stats = log.add_text(keylog.as_bytes());
    assert_eq!(stats.malformed, 0);
    log.lookup(client_random)
        .expect("keys for this random")
        .clone()
}

const IL12_C0: &str = "\
    1603030040404142434445464748494a4b4c4d4e4f227bc9ba81ef30f2a8a78ff1df50844d5804b7eeb2e214c32b6892\
    aca3db7b78077fdd90067c516bacb3ba90dedf720f";

const IL12_C1: &str = "\
    1703030030000102030405060708090a0b0c0d0e0f6c421c71c42b183bfa06195d133d0a09d00fc7cb4e0f5d1cda59d1\
    47ec790c99";

const IL12_C2: &str = "\
    1503030030101112131415161718191a1b1c1d1e1f0d83f97904750dd8fd8aa130218632634fd065e4628379b88bbf9e\
    fd1287a62d";

const IL12_S0: &str = "\
    16030300405152535455565758595a5b5c5d5e5f6018e075317b100315f6081fcbf313781aac73efe19fe25ba1af59c2\
    0be94fc01bda2d6800298b73a7e849d74bd494cf7d";

const IL12_S1: &str = "\
    17030300306162636465666768696a6b6c6d6e6f709783488af5fa20bf7a2ef69debb534db9fb07a8c2721dee5409f77\
    af0c3dde56";

const IL13_C0: &str = "\
    17030300459ff9b063175177322a46dd9896f3c3bb820ab51743ebc25fdadd53454b73deb54cc7248d411a18bccf657a\
    960824e9a19364837c350a69a88d4bf635c85eb874aebc9dfde8";

const IL13_C1: &str = "\
    1703030015828139cb7b73aaabf5b82fbf9a2961bcde10038a32";

const IL13_S0: &str = "\
    17030300176be02f9da7c2dc9ddef56f2468b90adfa25101ab0344ae";

const IL13_S3: &str = "\
    17030300451061de27e51c2c9f342911806f282b710c10632ca5006755880dbf7006002d0e84fed9adf27a43b5192303\
    e4df5c285d58e3c76224078440c0742374744aecf28cf3182fd0";

const IL13_S6: &str = "\
    17030300150cda85f1447ae23fa66d56f4c5408482b1b1d4c998";

const CHACHA12_C0: &str = "\
    160303002079dd24c22aa056921538c36e52273251228628e2088ae03f21f179ae8e503115";

const CHACHA12_C1: &str = "\
    1703030024cd1280c2c6f132ad99e0ec05f415c864383b27cd93f47e4ddddf9daff7eec45a5d34168f";

const CHACHA12_S0: &str = "\
    1603030020a3a9fcc2aa5d70d35ae4ccd1dd24bbe8be9bcebc4edce84c90ed5117b22e51d1";

const CHACHA12_S1: &str = "\
    17030300144f24bd8a2a6042dc104a0dc6c064195aa525c256";

const CBC384ETM_C0: &str = "\
    1603030060fa5921219726fb9332594f3bbdc44ec692f622ed7ac91d893bf76003b304cefc9d05f6fd1e20b80d80f1ec\
    c6388c164f2c44d361569aea17d9b874c251f1bc5bee6987c5425d524c4be43ddd8a96fdf19e6ca0a07120d8b8023d2b\
    5b10c1d781";

const CBC384ETM_C1: &str = "\
    170303006097b548f9610f7622c3b382830b45698a2d67d77e60713703bb4b4062772ef8eb920b16958fffe22c6800ca\
    3cc09f7333a8477a1664992ac75aba626556c124f658cc8cc22d311a0a40691680ac3d897ba8ad02299c8a43e2e189f2\
    a4027de855";

const CBC384ETM_S0: &str = "\
    160303006049a099d85d08face1d335975cfe602b0a9b653f4e5572db0b323f3565e39f26bde2ee704005727754fd106\
    4f4c8103154a85f20befafc5997d24e56b196d2d32f4524bd71ad55fb60edec377552b7b36318d9f40ca0332644f6f5e\
    36aba3d423";

const CBC384ETM_S1: &str = "\
    17030300508f0b34dd0685b65b26830225edd305bd8ef8cf52d9ed890ae0412ff55e47d9b529126cf2515115c01667b5\
    7109dded744f0887a62e32bff333fc73ee071fbc5578fbfca81cca9d89533ee57e48cdc90f";

pub(crate) const CHACHA13_C0: &str = "\
    17030300357773ce5e038d4231454c14b413b4995898817df138c2b7f64b7c97469237ceabdf7fbc5ef9a52fe725c217\
    805d87c0025072e8c633";

pub(crate) const CHACHA13_C1: &str = "\
    1703030017adad1beebac72b44a15f86dd749a1457d912674b9a5d49";

pub(crate) const CHACHA13_C2: &str = "\
    1703030016943bbc4fcf50c3f52c423c4c246712911dce1757c3ba";

pub(crate) const CHACHA13_C3: &str = "\
    170303001e103ae84c626d2fb0a7cf02ab827f1e36a1acd95d1f47bbe6780c2304ab0f";

pub(crate) const CHACHA13_S0: &str = "\
    1703030017951c240ceb457c3e8ec6da04c7bfc63b48b76153b66ed3";

// RFC 8448 §3: server handshake flight (EncryptedExtensions .. Finished), client Finished and
// the client's and server's application data (the bytes 00..31), with their traffic secrets.
const RFC8448_SERVER_HS_SECRET: &str =
    "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";
const RFC8448_CLIENT_HS_SECRET: &str =
    "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21";
const RFC8448_CLIENT_AP_SECRET: &str =
    "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
const RFC8448_SERVER_AP_SECRET: &str =
    "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";
const RFC8448_SERVER_FLIGHT: &str = "\
    17030302a2d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35edf7869fcf40aa40aa2b8ea73f848a7ca\
    07612ef9f945cb960b40689051\
    23ea78b111b429ba9191cd05d2a389280f526134aadc7fc78c4b729df828b5ecf7b13bd9aefb0e57f271585b8ea9bb35\
    5c7c79020716cfb9b1183ef3ab20e37d57a6b9d7477609aee6e122a4cf514273\
    25250c7d0e509289444c9b3a648f1d71035d2ed65b0e3cdd0cbae8bf2d0b227812cbb360987255cc744110c453baa4fc\
    d610928d809810e4b7ed1a8fd991f06aa6248204797e36a6a73b70a2559c09ead686945ba246ab66e5edd8044b4c6de3\
    fcf2a89441ac66272fd8fb330ef8190579b3684596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611e\
    a5e22f4415cf9538d51a200c27034272968a264ed6540c84838d89f72c24461aad6d26f59ecaba9acbbb317b66d902f4\
    f292a36ac1b639c637ce343117b659622245317b49eeda0c6258f100d7d961ffb138647e92ea330faeea6dfa31c7a84d\
    c3bd7e1b7a6c7178af36879018e3f252107f243d243dc7339d5684c8b0378bf30244da8c87c843f5e56eb4c5e8280a2b\
    48052cf93b16499a66db7cca71e4599426f7d461e66f99882bd89fc50800becca62d6c74116dbd2972fda1fa80f85df8\
    81edbe5a37668936b335583b599186dc5c6918a396fa48a181d6b6fa4f9d62d513afbb992f2b992f67f8afe67f76913f\
    a388cb5630c8ca01e0c65d11c66a1e2ac4c85977b7c7a6999bbf10dc35ae69f5515614636c0b9b68c19ed2e31c0b3b66\
    763038ebba42f3b38edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de93b5b845e275592c12335ee340bbc4fdd\
    d502784016e4b3be7ef04dda49f4b440a30cb5d2af939828fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175\
    be898e750edc53370d2b";
const RFC8448_CLIENT_FINISHED: &str = "\
    170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44d87f38f80338ac98fc46deb384bd1c\
    aeacab6867d726c40546";
const RFC8448_CLIENT_APP: &str = "\
    1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b\
    62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4";
const RFC8448_SERVER_APP: &str = "\
    17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb501a59a8\
    fcc49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d";

#[test]
fn rfc8448_server_flight_decrypts_to_encrypted_extensions_onwards() {
    let mut server = tls13_decryptor(0x1301, &hex(RFC8448_SERVER_HS_SECRET)).unwrap();
    let plain = open(&mut server, RFC8448_SERVER_FLIGHT);
    assert_eq!(plain.content_type, 22);
    // 674 bytes on the wire minus the tag and the inner type; EncryptedExtensions (8) first,
    // Finished (20) with 32 bytes of verify_data last.
    assert_eq!(plain.data.len(), 657);
    assert_eq!(plain.data.first(), Some(&8));
    assert_eq!(
        plain.data.get(657 - 36..657 - 32),
        Some(&[20, 0, 0, 32][..])
    );
    assert_eq!(server.sequence(), 1);
}

#[test]
fn rfc8448_client_finished_and_application_data_decrypt() {
    let mut client = tls13_decryptor(0x1301, &hex(RFC8448_CLIENT_HS_SECRET)).unwrap();
    let finished = open(&mut client, RFC8448_CLIENT_FINISHED);
    assert_eq!((finished.content_type, finished.data.len()), (22, 36));
    let mut client = tls13_decryptor(0x1301, &hex(RFC8448_CLIENT_AP_SECRET)).unwrap();
    let app = open(&mut client, RFC8448_CLIENT_APP);
    assert_eq!(app.content_type, 23);
    assert_eq!(app.data, (0u8..=0x31).collect::<Vec<_>>());
}

#[test]
fn rfc8448_server_application_data_needs_its_sequence_number() {
    // The server's first application-key record is its NewSessionTicket: this one is number 1.
    let mut server = tls13_decryptor(0x1301, &hex(RFC8448_SERVER_AP_SECRET)).unwrap();
    let (header, fragment) = split_record(RFC8448_SERVER_APP);
    assert_eq!(
        server.decrypt(&header, &fragment),
        Err(DecryptError::AuthFailed)
    );
    server.set_sequence(1);
    let app = open(&mut server, RFC8448_SERVER_APP);
    assert_eq!(app.data, (0u8..=0x31).collect::<Vec<_>>());
}

#[test]
fn illustrated_tls12_cbc_sha_records_decrypt() {
    let cr = random("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    let sr = random("707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f");
    let keys = secrets_for(
        "CLIENT_RANDOM 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
         916abf9da55973e13614ae0a3f5d3f37b023ba129aee02cc9134338127cd7049781c8e19fc1eb2a7387ac06ae237344c",
        &cr,
    );
    let (mut client, mut server) =
        tls12_decryptors(0xc013, &keys.master_secret.unwrap(), &cr, &sr, false).unwrap();
    let finished = open(&mut client, IL12_C0);
    assert_eq!(
        (finished.content_type, finished.data.get(..4)),
        (22, Some(&[20, 0, 0, 12][..]))
    );
    assert_eq!(
        open(&mut client, IL12_C1),
        Plaintext {
            content_type: 23,
            data: b"ping".to_vec()
        }
    );
    // close_notify (RFC 5246 §7.2.1): warning(1), close_notify(0).
    assert_eq!(
        open(&mut client, IL12_C2),
        Plaintext {
            content_type: 21,
            data: vec![1, 0]
        }
    );
    assert_eq!(open(&mut server, IL12_S0).data.len(), 16);
    assert_eq!(open(&mut server, IL12_S1).data, b"pong");
}

#[test]
fn illustrated_tls13_aes256_gcm_records_decrypt() {
    let cr = random("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    let r = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let keys = secrets_for(
        &format!(
            "SERVER_HANDSHAKE_TRAFFIC_SECRET {r} 23323da031634b241dd37d61032b62a4f450584d1f7f47983ba2f7cc0cdcc39a68f481f2b019f9403a3051908a5d1622\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET {r} db89d2d6df0e84fed74a2288f8fd4d0959f790ff23946cdf4c26d85e51bebd42ae184501972f8d30c4a3e4a3693d0ef0\n\
             SERVER_TRAFFIC_SECRET_0 {r} 86c967fd7747a36a0685b4ed8d0e6b4c02b4ddaf3cd294aa44e9f6b0183bf911e89a189ba5dfd71fccffb5cc164901f8\n\
             CLIENT_TRAFFIC_SECRET_0 {r} 9e47af27cb60d818a9ea7d233cb5ed4cc525fcd74614fb24b0ee59acb8e5aa7ff8d88b89792114208fec291a6fa96bad\n"
        ),
        &cr,
    );
    let suite = 0x1302;
    let mut client = tls13_decryptor(suite, keys.client_handshake.as_deref().unwrap()).unwrap();
    let finished = open(&mut client, IL13_C0);
    assert_eq!((finished.content_type, finished.data.len()), (22, 4 + 48));
    let mut client = tls13_decryptor(suite, keys.client_traffic_0.as_deref().unwrap()).unwrap();
    assert_eq!(
        open(&mut client, IL13_C1),
        Plaintext {
            content_type: 23,
            data: b"ping".to_vec()
        }
    );

    let mut server = tls13_decryptor(suite, keys.server_handshake.as_deref().unwrap()).unwrap();
    assert_eq!(
        open(&mut server, IL13_S0).data,
        [8, 0, 0, 2, 0, 0],
        "empty EncryptedExtensions"
    );
    server.set_sequence(3); // after Certificate and CertificateVerify
    assert_eq!(
        open(&mut server, IL13_S3).data.get(..4),
        Some(&[20, 0, 0, 48][..])
    );
    let mut server = tls13_decryptor(suite, keys.server_traffic_0.as_deref().unwrap()).unwrap();
    server.set_sequence(2); // after two NewSessionTickets
    assert_eq!(open(&mut server, IL13_S6).data, b"pong");
}

#[test]
fn openssl_tls12_chacha20_records_decrypt() {
    let cr = random("ceadc51da57213f65ff2042cdcb0ec465bc21943372472f6d60a8a8d4ba987b0");
    let sr = random("13b6248d19064538db4441bd365ffdf1dd70d39fd07fbd29c71ef8f45dd462f7");
    let keys = secrets_for(
        "CLIENT_RANDOM ceadc51da57213f65ff2042cdcb0ec465bc21943372472f6d60a8a8d4ba987b0 \
         0e8698c1e38db9822bd5d76301785d31dc7c1667c8def363cd72b3f9d06ea42cfea1584b4fc1a30342cbb9d1fe3e75f2",
        &cr,
    );
    let (mut client, mut server) =
        tls12_decryptors(0xcca8, &keys.master_secret.unwrap(), &cr, &sr, true).unwrap();
    assert_eq!(
        open(&mut client, CHACHA12_C0).data.get(..4),
        Some(&[20, 0, 0, 12][..])
    );
    let connect = open(&mut client, CHACHA12_C1);
    assert_eq!(
        (connect.content_type, connect.data.get(..8)),
        (23, Some(&b"\x10\x12\x00\x04MQTT"[..]))
    );
    assert_eq!(open(&mut server, CHACHA12_S0).data.len(), 16);
    assert_eq!(open(&mut server, CHACHA12_S1).data, [0x20, 2, 0, 0]);
}

#[test]
fn openssl_tls12_cbc_sha384_encrypt_then_mac_records_decrypt() {
    let cr = random("a5d08302e00e2e00f47b8b5288f72ab0fd025be8ba3f3784a256a14262ad1225");
    let sr = random("12932f5ed86ada5c76c4eede6929e7a88b5f0602c4ceed1d33d202886fc39ada");
    let keys = secrets_for(
        "CLIENT_RANDOM a5d08302e00e2e00f47b8b5288f72ab0fd025be8ba3f3784a256a14262ad1225 \
         cee7de67917a287e07a21b070ac9d4836586fe4a6fe743981d357947d29fec3c79a123a5f6d0282509c0521b03fc6be4",
        &cr,
    );
    let master = keys.master_secret.unwrap();
    let (mut client, mut server) = tls12_decryptors(0xc028, &master, &cr, &sr, true).unwrap();
    assert_eq!(
        open(&mut client, CBC384ETM_C0).data.get(..4),
        Some(&[20, 0, 0, 12][..])
    );
    assert_eq!(
        open(&mut client, CBC384ETM_C1).data.get(..8),
        Some(&b"\x10\x12\x00\x04MQTT"[..])
    );
    assert_eq!(open(&mut server, CBC384ETM_S0).data.len(), 16);
    assert_eq!(open(&mut server, CBC384ETM_S1).data, [0x20, 2, 0, 0]);

    // Without encrypt-then-MAC the same records must fail, not yield garbage.
    let (mut client, _) = tls12_decryptors(0xc028, &master, &cr, &sr, false).unwrap();
    let (header, fragment) = split_record(CBC384ETM_C0);
    assert!(client.decrypt(&header, &fragment).is_err());
}

#[test]
fn openssl_tls13_chacha20_records_decrypt_across_key_updates() {
    let r = "a68bc891975d67b1fdfd389cb858ddae0662b93ccb212aa9428afe932dcc7016";
    let keys = secrets_for(
        &format!(
            "SERVER_HANDSHAKE_TRAFFIC_SECRET {r} b8d025b19d91e294249b528b0acef7c63f763daebc65ad09882ec7f55aa29a20\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET {r} de590cd72faccad990258ddd451d4b004cb026f0691fce15e410448712397fc9\n\
             CLIENT_TRAFFIC_SECRET_0 {r} 9f8c2119ae5c07c338c59807a871a7e2f8d4181e8db272ab0f36df69029abff6\n"
        ),
        &random(r),
    );
    let suite = 0x1303;
    let mut server = tls13_decryptor(suite, keys.server_handshake.as_deref().unwrap()).unwrap();
    assert_eq!(open(&mut server, CHACHA13_S0).data, [8, 0, 0, 2, 0, 0]);
    let mut client = tls13_decryptor(suite, keys.client_handshake.as_deref().unwrap()).unwrap();
    assert_eq!(
        open(&mut client, CHACHA13_C0).data.get(..4),
        Some(&[20, 0, 0, 32][..])
    );

    let secret_0 = keys.client_traffic_0.unwrap();
    let mut client = tls13_decryptor(suite, &secret_0).unwrap();
    assert_eq!(open(&mut client, CHACHA13_C1).data, b"hello\n");
    // KeyUpdate (24), update_not_requested (RFC 8446 §4.6.3): the next record uses secret_1.
    assert_eq!(
        open(&mut client, CHACHA13_C2),
        Plaintext {
            content_type: 22,
            data: vec![24, 0, 0, 1, 0]
        }
    );
    let secret_1 = tls13_next_secret(suite, &secret_0).unwrap();
    let mut client = tls13_decryptor(suite, &secret_1).unwrap();
    assert_eq!(open(&mut client, CHACHA13_C3).data, b"after-update\n");

    // OpenSSL logs the updated secrets as CLIENT_TRAFFIC_SECRET_N: ours agree.
    assert_eq!(
        secret_1,
        hex("7c025493a7efaac7e7166fd23278ca3ff18ecca00b4c64f6772d4f539ebdee1c")
    );
    assert_eq!(
        tls13_next_secret(suite, &secret_1),
        Some(hex(
            "2c78f8f5c330e302b228e5c224d2ff07d2a875269308fd07f3176cabfa2eae5e"
        ))
    );
}

#[test]
fn every_truncation_and_bit_flip_of_real_records_is_an_error() {
    let cr = random("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    let sr = random("707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f");
    let master: [u8; 48] = hex("916abf9da55973e13614ae0a3f5d3f37b023ba129aee02cc9134338127cd7049781c8e19fc1eb2a7387ac06ae237344c").try_into().unwrap();
    type Fresh = Box<dyn Fn() -> RecordDecryptor>;
    let cases: Vec<(Fresh, &str)> = vec![
        (
            Box::new(move || {
                tls12_decryptors(0xc013, &master, &cr, &sr, false)
                    .unwrap()
                    .0
            }),
            IL12_C0,
        ),
        (
            Box::new(|| tls13_decryptor(0x1301, &hex(RFC8448_CLIENT_HS_SECRET)).unwrap()),
            RFC8448_CLIENT_FINISHED,
        ),
    ];
    for (fresh, record) in cases {
        let (header, fragment) = split_record(record);
        assert!(fresh().decrypt(&header, &fragment).is_ok());
        for len in 0..fragment.len() {
            assert!(
                fresh().decrypt(&header, &fragment[..len]).is_err(),
                "prefix {len}"
            );
        }
        for at in 0..fragment.len() {
            let mut flipped = fragment.clone();
            flipped[at] ^= 0x01;
            assert!(
                fresh().decrypt(&header, &flipped).is_err(),
                "bit flip at {at}"
            );
        }
        let mut other_header = header;
        other_header[0] ^= 0x01;
        assert!(
            fresh().decrypt(&other_header, &fragment).is_err(),
            "header is authenticated"
        );
    }
}
