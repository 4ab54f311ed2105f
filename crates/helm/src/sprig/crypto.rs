//! Sprig's cryptographic functions: `derivePassword` (the Master Password
//! algorithm, deterministic), `encryptAES`/`decryptAES` (AES-256-CBC with a
//! random IV, base64), `bcrypt`, `htpasswd`, `randBytes`, and key and
//! certificate generation (`genPrivateKey`, `genCA`, `genSelfSignedCert`,
//! `genSignedCert`, `buildCustomCert`) as PEM text.

use std::sync::Arc;

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferrocd_gotmpl::{FuncError, FuncMap, Object, Value};
use hmac::{Hmac, Mac};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_RSA_SHA256, SanType,
};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::EncodePrivateKey;

use super::args::{int, string, strslice, to_i64};

type R = Result<Value, FuncError>;

const SEED: &[u8] = b"com.lyndir.masterpassword";

fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn class(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// The Master Password algorithm (scrypt key, HMAC-SHA256 seed, templates).
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(temps) = templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = SEED.to_vec();
    salt.extend((user.len() as u32).to_be_bytes());
    salt.extend(user.as_bytes());
    let mut key = [0u8; 64];
    let derived = scrypt::Params::new(15, 8, 2, 64)
        .ok()
        .and_then(|p| scrypt::scrypt(password.as_bytes(), &salt, &p, &mut key).ok());
    if derived.is_none() {
        return String::new();
    }
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return String::new();
    };
    mac.update(SEED);
    mac.update(&(site.len() as u32).to_be_bytes());
    mac.update(site.as_bytes());
    mac.update(&counter.to_be_bytes());
    let seed = mac.finalize().into_bytes();
    let temp = temps[seed[0] as usize % temps.len()];
    temp.bytes()
        .enumerate()
        .map(|(i, c)| {
            let chars = class(c);
            chars[seed[(i + 1) % seed.len()] as usize % chars.len()] as char
        })
        .collect()
}

fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    key
}

fn encrypt_aes(password: &str, plain: &str) -> String {
    let pad = 16 - plain.len() % 16;
    let mut buf = plain.as_bytes().to_vec();
    buf.extend(std::iter::repeat_n(pad as u8, pad));
    let iv: [u8; 16] = rand::random();
    let enc = cbc::Encryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into());
    let len = buf.len();
    let out = match enc.encrypt_padded_mut::<NoPadding>(&mut buf, len) {
        Ok(ct) => ct.to_vec(),
        Err(_) => return String::new(),
    };
    STANDARD.encode([iv.to_vec(), out].concat())
}

fn decrypt_aes(password: &str, text: &str) -> Result<String, String> {
    let data = STANDARD.decode(text).map_err(|e| e.to_string())?;
    if data.len() < 16 || data.len() % 16 != 0 {
        return Err("ciphertext too short".into());
    }
    let (iv, body) = data.split_at(16);
    let mut buf = body.to_vec();
    let iv: [u8; 16] = iv.try_into().map_err(|_| "bad iv".to_string())?;
    let dec = cbc::Decryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into());
    let plain = dec
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|e| e.to_string())?;
    let pad = plain.last().copied().unwrap_or(0) as usize;
    let keep = plain.len().saturating_sub(pad);
    Ok(String::from_utf8_lossy(&plain[..keep]).into_owned())
}

fn bcrypt_hash(s: &str) -> Result<String, FuncError> {
    bcrypt::hash_with_result(s, 10)
        .map(|h| h.format_for_version(bcrypt::Version::TwoA))
        .map_err(|e| FuncError::msg(e.to_string()))
}

/// A generated certificate and its key, as Sprig's `certificate` struct.
#[derive(Debug, Clone)]
struct Certificate {
    cert: String,
    key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> String {
        "sprig.certificate".into()
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::from(self.cert.clone())),
            "Key" => Some(Value::from(self.key.clone())),
            _ => None,
        }
    }

    fn display(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
}

fn rsa_key(bits: usize) -> Result<(KeyPair, String), FuncError> {
    let fail = |e: &dyn std::fmt::Display| FuncError::msg(format!("error generating RSA key: {e}"));
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).map_err(|e| fail(&e))?;
    let pem = key
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|e| fail(&e))?
        .to_string();
    let pair = rsa_pair(&key).map_err(|e| fail(&e))?;
    Ok((pair, pem))
}

/// An RSA key as an rcgen signing key (through PKCS#8 PEM).
fn rsa_pair(key: &rsa::RsaPrivateKey) -> Result<KeyPair, String> {
    let pem = key
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|e| e.to_string())?;
    KeyPair::from_pem_and_sign_algo(&pem, &PKCS_RSA_SHA256).map_err(|e| e.to_string())
}

fn gen_private_key(kind: &str) -> Result<String, FuncError> {
    let fail = |e: &dyn std::fmt::Display| FuncError::msg(format!("error generating key: {e}"));
    Ok(match kind {
        "" | "rsa" => {
            let key =
                rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 4096).map_err(|e| fail(&e))?;
            key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
                .map_err(|e| fail(&e))?
                .to_string()
        }
        "ecdsa" => {
            let pair =
                KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| fail(&e))?;
            pem_block("EC PRIVATE KEY", &sec1_from_pkcs8(&pair.serialize_der()))
        }
        "ed25519" => {
            let pair = KeyPair::generate_for(&rcgen::PKCS_ED25519).map_err(|e| fail(&e))?;
            pair.serialize_pem()
        }
        other => format!("Unknown type {other}"),
    })
}

/// The SEC1 `ECPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (the last
/// OCTET STRING of the outer SEQUENCE).
fn sec1_from_pkcs8(der: &[u8]) -> Vec<u8> {
    fn header(d: &[u8]) -> Option<(usize, usize)> {
        let first = *d.get(1)?;
        if first < 0x80 {
            return Some((2, first as usize));
        }
        let n = (first & 0x7f) as usize;
        let len = d
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |a, b| (a << 8) | *b as usize);
        Some((2 + n, len))
    }
    let Some((h, _)) = header(der) else {
        return der.to_vec();
    };
    let mut pos = h;
    while pos < der.len() {
        let Some((hh, len)) = header(&der[pos..]) else {
            break;
        };
        if der[pos] == 0x04 {
            return der
                .get(pos + hh..pos + hh + len)
                .map_or_else(|| der.to_vec(), <[u8]>::to_vec);
        }
        pos += hh + len;
    }
    der.to_vec()
}

fn pem_block(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn cert_params(
    cn: &str,
    ips: &Value,
    sans: &Value,
    days: i64,
) -> Result<CertificateParams, FuncError> {
    let fail =
        |e: &dyn std::fmt::Display| FuncError::msg(format!("error creating certificate: {e}"));
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| fail(&e))?;
    params.distinguished_name.push(DnType::CommonName, cn);
    for ip in strslice(ips) {
        let addr: std::net::IpAddr = ip
            .parse()
            .map_err(|_| FuncError::msg(format!("error parsing ip: {ip}")))?;
        params.subject_alt_names.push(SanType::IpAddress(addr));
    }
    for dns in strslice(sans) {
        let name = dns.as_str().try_into().map_err(|e| fail(&e))?;
        params.subject_alt_names.push(SanType::DnsName(name));
    }
    let now = jiff::Zoned::now();
    let end = now
        .checked_add(jiff::Span::new().days(days.clamp(0, 36_500)))
        .unwrap_or_else(|_| now.clone());
    let ymd =
        |z: &jiff::Zoned| rcgen::date_time_ymd(i32::from(z.year()), z.month() as u8, z.day() as u8);
    params.not_before = ymd(&now);
    params.not_after = ymd(&end);
    Ok(params)
}

fn cert_value(cert: String, key: String) -> Value {
    Value::Object(Arc::new(Certificate { cert, key }))
}

fn own_key(given: Option<&Value>) -> Result<(KeyPair, String), FuncError> {
    match given {
        None => rsa_key(2048),
        Some(v) => {
            let pem = string(v)?;
            Ok((key_pair(pem)?, pem.to_string()))
        }
    }
}

fn gen_ca(cn: &str, days: i64, given: Option<&Value>) -> R {
    let fail = |e: &dyn std::fmt::Display| FuncError::msg(format!("error generating CA: {e}"));
    let (key, key_pem) = own_key(given)?;
    let mut params = cert_params(cn, &Value::Nil, &Value::Nil, days)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    let cert = params.self_signed(&key).map_err(|e| fail(&e))?;
    Ok(cert_value(cert.pem(), key_pem))
}

fn signed(
    cn: &str,
    ips: &Value,
    sans: &Value,
    days: i64,
    ca: Option<&Value>,
    given: Option<&Value>,
) -> R {
    let fail =
        |e: &dyn std::fmt::Display| FuncError::msg(format!("error generating certificate: {e}"));
    let (key, key_pem) = own_key(given)?;
    let params = cert_params(cn, ips, sans, days)?;
    let cert = match ca {
        None => params.self_signed(&key).map_err(|e| fail(&e))?,
        Some(Value::Object(o)) => {
            let text = |f: &str| o.field(f).and_then(|v| v.as_str().map(str::to_string));
            let (Some(ca_cert), Some(ca_key)) = (text("Cert"), text("Key")) else {
                return Err(FuncError::msg(
                    "error generating certificate: CA has no Cert/Key",
                ));
            };
            let ca_pair = key_pair(&ca_key)?;
            let issuer = Issuer::from_ca_cert_pem(&ca_cert, ca_pair).map_err(|e| fail(&e))?;
            params.signed_by(&key, &issuer).map_err(|e| fail(&e))?
        }
        Some(other) => {
            return Err(FuncError::WrongType {
                expected: "sprig.certificate".into(),
                got: other.type_name(),
            });
        }
    };
    Ok(cert_value(cert.pem(), key_pem))
}

/// A PEM private key as Sprig's `genPrivateKey` writes them (PKCS#1 RSA,
/// SEC1 EC, PKCS#8) turned into a signing key.
fn key_pair(pem: &str) -> Result<KeyPair, FuncError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let fail = |e: &dyn std::fmt::Display| FuncError::msg(format!("error decoding key: {e}"));
    if pem.contains("RSA PRIVATE KEY") {
        let key = rsa::RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| fail(&e))?;
        return rsa_pair(&key).map_err(|e| fail(&e));
    }
    if pem.contains("EC PRIVATE KEY") {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let sec1 = STANDARD.decode(body).map_err(|e| fail(&e))?;
        let pkcs8 = pem_block("PRIVATE KEY", &pkcs8_from_sec1_p256(&sec1));
        return KeyPair::from_pem_and_sign_algo(&pkcs8, &rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| fail(&e));
    }
    KeyPair::from_pem(pem).map_err(|e| fail(&e))
}

fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    [vec![0x80 | bytes.len() as u8], bytes].concat()
}

/// Wraps a SEC1 P-256 key in a PKCS#8 `PrivateKeyInfo`.
fn pkcs8_from_sec1_p256(sec1: &[u8]) -> Vec<u8> {
    const ALG: [u8; 23] = [
        0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
        0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
    ];
    let mut body = ALG.to_vec();
    body.push(0x07);
    body.push(0x04);
    body.extend(der_len(sec1.len()));
    body.extend(sec1);
    let mut out = vec![0x30];
    out.extend(der_len(body.len()));
    out.extend(body);
    out
}

/// Registers the cryptographic functions.
pub(crate) fn register(f: &mut FuncMap) {
    f.insert("derivePassword", |a| {
        FuncError::check_arity(a, 5)?;
        let counter = to_i64(&a[0]) as u32;
        Ok(Value::from(derive_password(
            counter,
            string(&a[1])?,
            string(&a[2])?,
            string(&a[3])?,
            string(&a[4])?,
        )))
    });
    f.insert("encryptAES", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::from(encrypt_aes(string(&a[0])?, string(&a[1])?)))
    });
    f.insert("decryptAES", |a| {
        FuncError::check_arity(a, 2)?;
        decrypt_aes(string(&a[0])?, string(&a[1])?)
            .map(Value::from)
            .map_err(FuncError::msg)
    });
    f.insert("bcrypt", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(bcrypt_hash(string(&a[0])?)?))
    });
    f.insert("htpasswd", |a| {
        FuncError::check_arity(a, 2)?;
        let (user, pass) = (string(&a[0])?, string(&a[1])?);
        if user.contains(':') {
            return Ok(Value::from(format!("invalid username: {user}")));
        }
        Ok(Value::from(format!("{user}:{}", bcrypt_hash(pass)?)))
    });
    f.insert("randBytes", |a| {
        FuncError::check_arity(a, 1)?;
        let n = int(&a[0])?.clamp(0, 1 << 20) as usize;
        let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
        Ok(Value::from(STANDARD.encode(bytes)))
    });
    f.insert("genPrivateKey", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(gen_private_key(string(&a[0])?)?))
    });
    f.insert("genCA", |a| {
        FuncError::check_arity(a, 2)?;
        gen_ca(string(&a[0])?, int(&a[1])?, None)
    });
    f.insert("genCAWithKey", |a| {
        FuncError::check_arity(a, 3)?;
        gen_ca(string(&a[0])?, int(&a[1])?, Some(&a[2]))
    });
    f.insert("genSelfSignedCertWithKey", |a| {
        FuncError::check_arity(a, 5)?;
        signed(string(&a[0])?, &a[1], &a[2], int(&a[3])?, None, Some(&a[4]))
    });
    f.insert("genSignedCertWithKey", |a| {
        FuncError::check_arity(a, 6)?;
        signed(
            string(&a[0])?,
            &a[1],
            &a[2],
            int(&a[3])?,
            Some(&a[4]),
            Some(&a[5]),
        )
    });
    f.insert("genSelfSignedCert", |a| {
        FuncError::check_arity(a, 4)?;
        signed(string(&a[0])?, &a[1], &a[2], int(&a[3])?, None, None)
    });
    f.insert("genSignedCert", |a| {
        FuncError::check_arity(a, 5)?;
        signed(string(&a[0])?, &a[1], &a[2], int(&a[3])?, Some(&a[4]), None)
    });
    f.insert("buildCustomCert", |a| {
        FuncError::check_arity(a, 2)?;
        let decode = |v: &Value| -> Result<String, FuncError> {
            let bytes = STANDARD
                .decode(string(v)?)
                .map_err(|e| FuncError::msg(format!("unable to decode base64 certificate: {e}")))?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        Ok(cert_value(decode(&a[0])?, decode(&a[1])?))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_password_matches_recorded_helm() {
        assert_eq!(
            derive_password(1, "long", "password", "user", "example.com"),
            "ZedaFaxcZaso9*"
        );
        assert_eq!(
            derive_password(1, "pin", "s3cr3t", "airflow", "airflow.local"),
            "1277"
        );
    }

    #[test]
    fn aes_round_trips_and_reads_helm_output() {
        let enc = encrypt_aes("secretkey", "model-registry-token");
        assert_eq!(
            decrypt_aes("secretkey", &enc).as_deref(),
            Ok("model-registry-token")
        );
        assert_eq!(
            decrypt_aes(
                "secretkey",
                "lqhkWB0AwtZW11AYEw3tQi8s8iurJz8I1mo09NVIU1V+FqbFyZV+BFuX4LY8IUdL"
            )
            .as_deref(),
            Ok("model-registry-token")
        );
    }

    #[test]
    fn sec1_is_extracted_from_pkcs8() {
        let pair = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let sec1 = sec1_from_pkcs8(&pair.serialize_der());
        assert_eq!(sec1.first(), Some(&0x30));
        assert!(sec1.len() < pair.serialize_der().len());
    }
}
