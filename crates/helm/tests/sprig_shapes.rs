//! Sprig functions that are random or time-dependent by design, checked by
//! shape (length, alphabet, format, type) since their values cannot be
//! recorded from helm.

use ferrocd_gotmpl::{ExecOptions, Template, Value};

fn render(tmpl: &str) -> String {
    let funcs = ferrocd_helm::sprig::funcs();
    let mut t = Template::with_funcs("chart", &funcs);
    t.parse("t", tmpl).expect("parses");
    t.execute("t", &Value::Nil, &funcs, &ExecOptions::default())
        .expect("executes")
}

#[test]
fn random_strings_have_length_and_alphabet() {
    let s = render(r#"{{ randAlphaNum 24 }}"#);
    assert_eq!(s.len(), 24);
    assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
    let s = render(r#"{{ randAlpha 16 }}"#);
    assert!(s.len() == 16 && s.chars().all(|c| c.is_ascii_alphabetic()));
    let s = render(r#"{{ randNumeric 10 }}"#);
    assert!(s.len() == 10 && s.chars().all(|c| c.is_ascii_digit()));
    let s = render(r#"{{ randAscii 40 }}"#);
    assert!(s.len() == 40 && s.chars().all(|c| (' '..='~').contains(&c)));
    assert_eq!(render(r#"{{ randAlphaNum 0 }}"#), "");
    // Two draws of 32 characters are practically never equal.
    assert_ne!(
        render(r#"{{ randAlphaNum 32 }}"#),
        render(r#"{{ randAlphaNum 32 }}"#)
    );
}

#[test]
fn shuffle_is_a_permutation() {
    let s = render(r#"{{ shuffle "airflow-scheduler" }}"#);
    let mut a: Vec<char> = s.chars().collect();
    let mut b: Vec<char> = "airflow-scheduler".chars().collect();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
}

#[test]
fn uuid_and_rand_bytes_shapes() {
    let u = render(r#"{{ uuidv4 }}"#);
    let parts: Vec<&str> = u.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(parts[2].starts_with('4'), "{u}");
    let b = render(r#"{{ randBytes 12 }}"#);
    assert_eq!(b.len(), 16);
    let n: i64 = render(r#"{{ randInt 5 9 }}"#).parse().expect("int");
    assert!((5..9).contains(&n));
}

#[test]
fn now_is_a_time() {
    assert_eq!(render(r#"{{ typeOf now }}"#), "time.Time");
    let year: i32 = render(r#"{{ now | date "2006" }}"#).parse().expect("year");
    assert!(year >= 2024);
    let stamp = render(r#"{{ now | date "2006-01-02T15:04:05Z07:00" }}"#);
    assert_eq!(stamp.len(), "2024-01-01T00:00:00".len() + stamp[19..].len());
    assert_eq!(&stamp[4..5], "-");
    let epoch: i64 = render(r#"{{ now | unixEpoch }}"#).parse().expect("epoch");
    assert!(epoch > 1_700_000_000);
    // A second boundary may pass between the two clock reads.
    assert!(["0s", "1s"].contains(&render(r#"{{ ago now }}"#).as_str()));
    let html = render(r#"{{ htmlDate now }}"#);
    assert_eq!(html.len(), 10);
    let hour = render(r#"{{ now | dateModify "-1h" | ago }}"#);
    assert!(["1h0m0s", "1h0m1s"].contains(&hour.as_str()), "{hour}");
}

#[test]
fn bcrypt_and_htpasswd_shapes() {
    let h = render(r#"{{ bcrypt "pw" }}"#);
    assert!(h.starts_with("$2a$10$") && h.len() == 60, "{h}");
    let h = render(r#"{{ htpasswd "admin" "pw" }}"#);
    assert!(h.starts_with("admin:$2a$10$"), "{h}");
}

#[test]
fn keys_and_certificates_are_pem() {
    let ec = render(r#"{{ genPrivateKey "ecdsa" }}"#);
    assert!(ec.starts_with("-----BEGIN EC PRIVATE KEY-----\n"), "{ec}");
    let ed = render(r#"{{ genPrivateKey "ed25519" }}"#);
    assert!(ed.starts_with("-----BEGIN PRIVATE KEY-----"), "{ed}");
    let out = render(
        r#"{{- $ca := genCA "ml-ca" 365 -}}
{{- $c := genSignedCert "mlflow.ml.svc" (list "10.0.0.1") (list "mlflow" "mlflow.ml") 90 $ca -}}
{{- $s := genSelfSignedCert "airflow" nil nil 30 -}}
{{ typeOf $ca }}|{{ $ca.Cert | trunc 27 }}|{{ $ca.Key | trunc 31 }}|{{ $c.Cert | trunc 27 }}|{{ $c.Key | trunc 31 }}|{{ $s.Cert | trunc 27 }}|{{ ne $c.Cert $s.Cert }}"#,
    );
    assert_eq!(
        out,
        "sprig.certificate|-----BEGIN CERTIFICATE-----|-----BEGIN RSA PRIVATE KEY-----|\
-----BEGIN CERTIFICATE-----|-----BEGIN RSA PRIVATE KEY-----|-----BEGIN CERTIFICATE-----|true"
    );
    let with_key = render(
        r#"{{- $k := genPrivateKey "ecdsa" -}}
{{- $ca := genCAWithKey "ml-ca" 30 $k -}}
{{- $c := genSignedCertWithKey "svc" nil (list "svc.ml") 30 $ca (genPrivateKey "ed25519") -}}
{{- $s := genSelfSignedCertWithKey "self" nil nil 30 $k -}}
{{ eq $ca.Key $k }}|{{ $c.Cert | trunc 27 }}|{{ $s.Key | trunc 30 }}"#,
    );
    assert_eq!(
        with_key,
        "true|-----BEGIN CERTIFICATE-----|-----BEGIN EC PRIVATE KEY-----"
    );
    let custom = render(
        r#"{{ $c := buildCustomCert ("cert-pem" | b64enc) ("key-pem" | b64enc) }}{{ $c.Cert }}/{{ $c.Key }}"#,
    );
    assert_eq!(custom, "cert-pem/key-pem");
}

#[test]
fn every_sprig_function_helm_ships_is_defined() {
    // Helm's Sprig set (everything but env/expandenv), as `helm template` accepts it.
    let names = "abbrev abbrevboth add add1 add1f addf adler32sum ago all any append atoi b32dec \
        b32enc b64dec b64enc base bcrypt biggest buildCustomCert camelcase cat ceil chunk clean \
        coalesce compact concat contains date dateInZone dateModify date_in_zone date_modify \
        decryptAES deepCopy deepEqual default derivePassword dict dig dir div divf duration \
        durationRound empty encryptAES ext fail first float64 floor fromJson genCA genCAWithKey \
        genPrivateKey genSelfSignedCert genSelfSignedCertWithKey genSignedCert \
        genSignedCertWithKey get getHostByName has hasKey hasPrefix hasSuffix htmlDate \
        htmlDateInZone htpasswd indent initial initials int int64 isAbs join kebabcase keys \
        kindIs kindOf last list lower max maxf merge mergeOverwrite min minf mod mul mulf \
        mustAppend mustChunk mustCompact mustDateModify mustDeepCopy mustFirst mustFromJson \
        mustHas mustInitial mustLast mustMerge mustMergeOverwrite mustPrepend mustPush \
        mustRegexFind mustRegexFindAll mustRegexMatch mustRegexReplaceAll \
        mustRegexReplaceAllLiteral mustRegexSplit mustRest mustReverse mustSlice mustToDate \
        mustToJson mustToPrettyJson mustToRawJson mustUniq mustWithout nindent nospace now omit \
        osBase osClean osDir osExt osIsAbs pick pluck plural prepend push quote randAlpha \
        randAlphaNum randAscii randBytes randInt randNumeric regexFind regexFindAll regexMatch \
        regexQuoteMeta regexReplaceAll regexReplaceAllLiteral regexSplit repeat replace rest \
        reverse round semver semverCompare seq set sha1sum sha256sum sha512sum shuffle slice \
        snakecase sortAlpha split splitList splitn squote sub subf substr swapcase ternary title \
        toDate toDecimal toJson toPrettyJson toRawJson toString toStrings trim trimAll \
        trimPrefix trimSuffix trimall trunc tuple typeIs typeIsLike typeOf uniq unixEpoch unset \
        until untilStep untitle upper urlJoin urlParse uuidv4 values without wrap wrapWith";
    let funcs = ferrocd_helm::funcs::helm_funcs();
    let missing: Vec<&str> = names
        .split_whitespace()
        .filter(|n| !funcs.contains(n))
        .collect();
    assert!(missing.is_empty(), "missing: {missing:?}");
}
