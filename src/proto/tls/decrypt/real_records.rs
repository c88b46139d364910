//! Decryption of published records: RFC 8448's Simple 1-RTT Handshake and the "Illustrated
//! TLS 1.2 / 1.3" captures (github.com/syncsynchalt/illustrated-tls12 and -tls13, MIT). Each
//! record is `header || fragment` in hex, with the key log lines that decrypt it. The AEAD tags
//! and MACs make these self-checking: a byte wrong anywhere fails authentication.

use super::test_util::*;
use super::*;

// Illustrated TLS 1.2, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA (0xc013), MAC-then-encrypt: client
// Finished, "ping", close_notify; server Finished, "pong".
const ILLUSTRATED_TLS12: Tls12Connection = Tls12Connection {
    suite: 0xc013,
    client_random: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    server_random: "707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f",
    master_secret: "916abf9da55973e13614ae0a3f5d3f37b023ba129aee02cc9134338127cd7049781c8e19fc1eb2a7387ac06ae237344c",
    encrypt_then_mac: false,
    client: &[
        "1603030040404142434445464748494a4b4c4d4e4f227bc9ba81ef30f2a8a78ff1df50844d5804b7eeb2e214c32b6892\
         aca3db7b78077fdd90067c516bacb3ba90dedf720f",
        "1703030030000102030405060708090a0b0c0d0e0f6c421c71c42b183bfa06195d133d0a09d00fc7cb4e0f5d1cda59d1\
         47ec790c99",
        "1503030030101112131415161718191a1b1c1d1e1f0d83f97904750dd8fd8aa130218632634fd065e4628379b88bbf9e\
         fd1287a62d",
    ],
    server: &[
        "16030300405152535455565758595a5b5c5d5e5f6018e075317b100315f6081fcbf313781aac73efe19fe25ba1af59c2\
         0be94fc01bda2d6800298b73a7e849d74bd494cf7d",
        "17030300306162636465666768696a6b6c6d6e6f709783488af5fa20bf7a2ef69debb534db9fb07a8c2721dee5409f77\
         af0c3dde56",
    ],
};

// Illustrated TLS 1.3, TLS_AES_256_GCM_SHA384 (0x1302): client Finished and "ping"; server
// EncryptedExtensions (record 0), Finished (record 3) and "pong" (application record 2).
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
    let (mut client, mut server) = ILLUSTRATED_TLS12.decryptors();
    let [finished, ping, close_notify] = ILLUSTRATED_TLS12.client else {
        unreachable!("three client records")
    };
    let finished = open(&mut client, finished);
    assert_eq!(
        (finished.content_type, finished.data.get(..4)),
        (22, Some(&[20, 0, 0, 12][..]))
    );
    assert_eq!(
        open(&mut client, ping),
        Plaintext {
            content_type: 23,
            data: b"ping".to_vec()
        }
    );
    // close_notify (RFC 5246 §7.2.1): warning(1), close_notify(0).
    assert_eq!(
        open(&mut client, close_notify),
        Plaintext {
            content_type: 21,
            data: vec![1, 0]
        }
    );
    let [finished, pong] = ILLUSTRATED_TLS12.server else {
        unreachable!("two server records")
    };
    assert_eq!(open(&mut server, finished).data.len(), 16);
    assert_eq!(open(&mut server, pong).data, b"pong");
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
fn every_truncation_and_bit_flip_of_real_records_is_an_error() {
    /// A fresh decryptor for a case's record.
    type Fresh = fn() -> RecordDecryptor;
    // (name, a fresh decryptor, the record)
    let cases: [(&str, Fresh, &str); 2] = [
        (
            "Illustrated TLS 1.2",
            || ILLUSTRATED_TLS12.decryptors().0,
            ILLUSTRATED_TLS12.client[0],
        ),
        (
            "RFC 8448",
            || tls13_decryptor(0x1301, &hex(RFC8448_CLIENT_HS_SECRET)).unwrap(),
            RFC8448_CLIENT_FINISHED,
        ),
    ];
    for (label, fresh, record) in cases {
        assert_every_truncation_and_flip_fails(fresh, record, 0x01, label);
        let (mut header, fragment) = split_record(record);
        header[0] ^= 0x01;
        assert!(
            fresh().decrypt(&header, &fragment).is_err(),
            "{label}: header is authenticated"
        );
    }
}

// OpenSSL 3.0, TLS 1.2 ECDHE-ECDSA-AES128-CCM8 (0xc0ae): Finished and first application record
// each way.
// OpenSSL 3.0, TLS 1.3 TLS_AES_128_CCM_8_SHA256 (0x1305): client Finished, "hello\n", and the
// server's EncryptedExtensions.

#[test]
fn records_after_a_capture_gap_resynchronise_the_sequence() {
    // RFC 8448: the server's NewSessionTicket (record 0) is "lost"; record 1 is found.
    let mut server = tls13_decryptor(0x1301, &hex(RFC8448_SERVER_AP_SECRET)).unwrap();
    let (header, fragment) = split_record(RFC8448_SERVER_APP);
    assert_eq!(
        server
            .decrypt_after_gap(&header, &fragment, 0)
            .map(|(_, lost)| lost),
        Err(DecryptError::AuthFailed)
    );
    assert_eq!(server.sequence(), 0, "unchanged after a failed resync");
    let (plain, lost) = server.decrypt_after_gap(&header, &fragment, 8).unwrap();
    assert_eq!((plain.data.len(), lost, server.sequence()), (50, 1, 2));

    // Illustrated TLS 1.2 (CBC, the MAC binds the sequence): "ping" is client record 1.
    let mut client = ILLUSTRATED_TLS12.decryptors().0;
    let (header, fragment) = split_record(ILLUSTRATED_TLS12.client[1]);
    let (plain, lost) = client.decrypt_after_gap(&header, &fragment, 3).unwrap();
    assert_eq!((plain.data, lost), (b"ping".to_vec(), 1));
    // A record too short for the suite fails at once, whatever the window.
    assert_eq!(
        client
            .decrypt_after_gap(&header, &fragment[..10], 1000)
            .map(|(_, lost)| lost),
        Err(DecryptError::BadLength)
    );
}
