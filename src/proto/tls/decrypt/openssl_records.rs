//! Decryption of records made here with OpenSSL 3.0 (Python `ssl` over memory BIOs, and
//! `openssl s_client`/`s_server` on loopback) for the suites the public captures lack:
//! TLS 1.2 ChaCha20-Poly1305, AES-CBC-SHA384 with encrypt-then-MAC and AES-128-CCM-8; TLS 1.3
//! ChaCha20-Poly1305 across KeyUpdates and AES-128-CCM-8. The client sends an MQTT CONNECT
//! (TLS 1.2) or text lines (TLS 1.3); the server answers a CONNACK. Each record is
//! `header || fragment` in hex with the key log lines OpenSSL wrote for it.

use super::test_util::*;
use super::*;

// TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305 (0xcca8): Finished and first application record each
// way.
const CHACHA12: Tls12Connection = Tls12Connection {
    suite: 0xcca8,
    client_random: "ceadc51da57213f65ff2042cdcb0ec465bc21943372472f6d60a8a8d4ba987b0",
    server_random: "13b6248d19064538db4441bd365ffdf1dd70d39fd07fbd29c71ef8f45dd462f7",
    master_secret: "0e8698c1e38db9822bd5d76301785d31dc7c1667c8def363cd72b3f9d06ea42cfea1584b4fc1a30342cbb9d1fe3e75f2",
    encrypt_then_mac: true,
    client: &[
        "160303002079dd24c22aa056921538c36e52273251228628e2088ae03f21f179ae8e503115",
        "1703030024cd1280c2c6f132ad99e0ec05f415c864383b27cd93f47e4ddddf9daff7eec45a5d34168f",
    ],
    server: &[
        "1603030020a3a9fcc2aa5d70d35ae4ccd1dd24bbe8be9bcebc4edce84c90ed5117b22e51d1",
        "17030300144f24bd8a2a6042dc104a0dc6c064195aa525c256",
    ],
};

// TLS 1.2 ECDHE-ECDSA-AES256-SHA384 (0xc028) with encrypt-then-MAC: Finished and first
// application record each way.
const CBC384ETM: Tls12Connection = Tls12Connection {
    suite: 0xc028,
    client_random: "a5d08302e00e2e00f47b8b5288f72ab0fd025be8ba3f3784a256a14262ad1225",
    server_random: "12932f5ed86ada5c76c4eede6929e7a88b5f0602c4ceed1d33d202886fc39ada",
    master_secret: "cee7de67917a287e07a21b070ac9d4836586fe4a6fe743981d357947d29fec3c79a123a5f6d0282509c0521b03fc6be4",
    encrypt_then_mac: true,
    client: &[
        "1603030060fa5921219726fb9332594f3bbdc44ec692f622ed7ac91d893bf76003b304cefc9d05f6fd1e20b80d80f1ec\
         c6388c164f2c44d361569aea17d9b874c251f1bc5bee6987c5425d524c4be43ddd8a96fdf19e6ca0a07120d8b8023d2b\
         5b10c1d781",
        "170303006097b548f9610f7622c3b382830b45698a2d67d77e60713703bb4b4062772ef8eb920b16958fffe22c6800ca\
         3cc09f7333a8477a1664992ac75aba626556c124f658cc8cc22d311a0a40691680ac3d897ba8ad02299c8a43e2e189f2\
         a4027de855",
    ],
    server: &[
        "160303006049a099d85d08face1d335975cfe602b0a9b653f4e5572db0b323f3565e39f26bde2ee704005727754fd106\
         4f4c8103154a85f20befafc5997d24e56b196d2d32f4524bd71ad55fb60edec377552b7b36318d9f40ca0332644f6f5e\
         36aba3d423",
        "17030300508f0b34dd0685b65b26830225edd305bd8ef8cf52d9ed890ae0412ff55e47d9b529126cf2515115c01667b5\
         7109dded744f0887a62e32bff333fc73ee071fbc5578fbfca81cca9d89533ee57e48cdc90f",
    ],
};

// TLS 1.3 TLS_CHACHA20_POLY1305_SHA256 (0x1303): the client's Finished, "hello\n", a KeyUpdate
// and "after-update\n"; the server's EncryptedExtensions.

/// The client random of the TLS 1.3 ChaCha20-Poly1305 connection (`CHACHA13_*`).
pub(crate) const CHACHA13_RANDOM: &str =
    "a68bc891975d67b1fdfd389cb858ddae0662b93ccb212aa9428afe932dcc7016";

/// The key log OpenSSL wrote for the `CHACHA13_*` connection, up to its KeyUpdate.
pub(crate) fn chacha13_keylog() -> String {
    let r = CHACHA13_RANDOM;
    format!(
        "SERVER_HANDSHAKE_TRAFFIC_SECRET {r} b8d025b19d91e294249b528b0acef7c63f763daebc65ad09882ec7f55aa29a20\n\
         CLIENT_HANDSHAKE_TRAFFIC_SECRET {r} de590cd72faccad990258ddd451d4b004cb026f0691fce15e410448712397fc9\n\
         CLIENT_TRAFFIC_SECRET_0 {r} 9f8c2119ae5c07c338c59807a871a7e2f8d4181e8db272ab0f36df69029abff6\n"
    )
}

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

/// Decrypts a TLS 1.2 connection whose client sends Finished and an MQTT CONNECT and whose
/// server answers Finished and a CONNACK, checking each plaintext; returns the CONNECT's.
fn assert_finished_then_mqtt_connect_and_connack(connection: &Tls12Connection) -> Plaintext {
    let (mut client, mut server) = connection.decryptors();
    let [finished, connect] = connection.client else {
        unreachable!("two client records")
    };
    assert_eq!(
        open(&mut client, finished).data.get(..4),
        Some(&[20, 0, 0, 12][..])
    );
    let connect = open(&mut client, connect);
    assert_eq!(connect.data.get(..8), Some(&b"\x10\x12\x00\x04MQTT"[..]));
    let [finished, connack] = connection.server else {
        unreachable!("two server records")
    };
    assert_eq!(open(&mut server, finished).data.len(), 16);
    assert_eq!(open(&mut server, connack).data, [0x20, 2, 0, 0]);
    connect
}

#[test]
fn openssl_tls12_chacha20_records_decrypt() {
    let connect = assert_finished_then_mqtt_connect_and_connack(&CHACHA12);
    assert_eq!(connect.content_type, 23);
}

#[test]
fn openssl_tls12_cbc_sha384_encrypt_then_mac_records_decrypt() {
    assert_finished_then_mqtt_connect_and_connack(&CBC384ETM);

    // Without encrypt-then-MAC the same records must fail, not yield garbage.
    let mac_then_encrypt = Tls12Connection {
        encrypt_then_mac: false,
        ..CBC384ETM
    };
    let (mut client, _) = mac_then_encrypt.decryptors();
    let (header, fragment) = split_record(CBC384ETM.client[0]);
    assert!(client.decrypt(&header, &fragment).is_err());
}

#[test]
fn openssl_tls13_chacha20_records_decrypt_across_key_updates() {
    let keys = secrets_for(&chacha13_keylog(), &random(CHACHA13_RANDOM));
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

// TLS 1.2 ECDHE-ECDSA-AES128-CCM8 (0xc0ae): Finished and first application record each way.
const CCM8_12: Tls12Connection = Tls12Connection {
    suite: 0xc0ae,
    client_random: "19376b810b77f61ff68e0a6de2f92a80b82007866fcfaae0482bb532677f9dee",
    server_random: "d95b981611931c3e3be947a7f0b85d0de3b81430829f73e6b721f85349831881",
    master_secret: "d209a9872ae68edca8c196eae893f9f24aca30d31a853553d55591c26cc488ea5c131e7614fd041d967be48f14c1c1df",
    encrypt_then_mac: false,
    client: &[
        "16030300200000000000000000ba158c8a0a6155617f57079f4a2a52272811c1d45682419f",
        "17030300240000000000000001c4fb158c56f3ff6d45e5f6a2ee4d0ec828a85e3c793f20a6b7f9b267",
    ],
    server: &[
        "1603030020000000000000000024e1412addd8582995027057af926a882fdbfffc4085602e",
        "170303001400000000000000016618ca14013b0ac6407b4681",
    ],
};

const CCM8_13_C0: &str = "\
    170303002d66a0fd7eb46602fcebab22514810f7f51177f373a72f06c541409f0b479eb9de9435a126eae3b611f8a6d4\
    32dd";
const CCM8_13_C1: &str = "170303000f468ca228b190864cc67bebc8f03eee";
const CCM8_13_S0: &str = "170303000fce65f06768f504de66891331efab6a";

#[test]
fn openssl_tls12_aes128_ccm8_records_decrypt() {
    assert_finished_then_mqtt_connect_and_connack(&CCM8_12);
}

#[test]
fn openssl_tls13_aes128_ccm8_records_decrypt() {
    let r = "d5831277ff6b71c5d117cef8d744d502c60754162fef3ba4bdf905805316eb02";
    let keys = secrets_for(
        &format!(
            "SERVER_HANDSHAKE_TRAFFIC_SECRET {r} e83b8e2a0c7c81cf67a00ecc440c5af1ff7da2e9a3e9f06164c6fb4e1b3d88dc\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET {r} d5856ce557d925e4f24a0e0a733eb98c86a692c7f0ccbc074ace130d3a547252\n\
             CLIENT_TRAFFIC_SECRET_0 {r} 9796c827b87e77ca0ff23551252516ce745baadc3c4c788f202a12ed2365cfac\n"
        ),
        &random(r),
    );
    let suite = 0x1305;
    let mut server = tls13_decryptor(suite, keys.server_handshake.as_deref().unwrap()).unwrap();
    assert_eq!(open(&mut server, CCM8_13_S0).data, [8, 0, 0, 2, 0, 0]);
    let mut client = tls13_decryptor(suite, keys.client_handshake.as_deref().unwrap()).unwrap();
    assert_eq!(
        open(&mut client, CCM8_13_C0).data.get(..4),
        Some(&[20, 0, 0, 32][..])
    );
    let mut client = tls13_decryptor(suite, keys.client_traffic_0.as_deref().unwrap()).unwrap();
    assert_eq!(open(&mut client, CCM8_13_C1).data, b"hello\n");
}

#[test]
fn every_truncation_and_bit_flip_of_tls12_aead_and_etm_records_is_an_error() {
    for connection in [CHACHA12, CBC384ETM, CCM8_12] {
        // Record 1 of the client direction: the Finished record was number 0.
        let fresh = || {
            let mut client = connection.decryptors().0;
            client.set_sequence(1);
            client
        };
        let label = format!("{:#06x}", connection.suite);
        assert_every_truncation_and_flip_fails(fresh, connection.client[1], 0x80, &label);
    }
}
