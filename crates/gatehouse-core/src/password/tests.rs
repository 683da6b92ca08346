//! Tests of hashing, verification and import across formats. The imported
//! hashes were produced by independent implementations (Python), not by the
//! crates under test; each comment says how.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::secret::Secret;

/// The password every imported vector below was generated for.
const PASSWORD: &str = "correct horse battery staple";

/// Cheap argon2id parameters, different from those of the argon2id vector
/// (m=64) so that it, too, must be rehashed.
fn hasher() -> PasswordHasher {
    PasswordHasher::with_params(128, 1, 1, 4).unwrap()
}

/// Imports `encoded`, then checks: the scheme is recognised, the right
/// password matches with a current-parameter argon2id replacement that itself
/// verifies, and a wrong password does not match.
async fn check_import(encoded: &str, scheme: Scheme) {
    let hasher = hasher();
    let stored = StoredPassword::import(encoded)
        .unwrap_or_else(|e| unreachable!("{scheme} vector rejected: {e}"));
    assert_eq!(stored.scheme(), scheme, "{encoded}");
    assert_eq!(stored.as_str(), encoded);

    let verification = hasher
        .verify(&Secret::new(PASSWORD), &stored)
        .await
        .unwrap();
    let Verification::Match {
        rehash: Some(rehash),
    } = verification
    else {
        unreachable!("{scheme}: right password gave {verification:?}");
    };
    assert!(
        rehash.as_str().starts_with("$argon2id$v=19$m=128,t=1,p=1$"),
        "{scheme}: rehash is {}",
        rehash.as_str()
    );
    assert_eq!(
        hasher
            .verify(&Secret::new(PASSWORD), &rehash)
            .await
            .unwrap(),
        Verification::Match { rehash: None }
    );

    for wrong in [
        "correct horse battery stapler",
        "Correct horse battery staple",
        "",
    ] {
        assert_eq!(
            hasher.verify(&Secret::new(wrong), &stored).await.unwrap(),
            Verification::Mismatch,
            "{scheme}: {wrong:?} matched"
        );
    }
}

#[tokio::test]
async fn bcrypt_import_verifies_and_rehashes() {
    for encoded in [
        // python bcrypt 5.0: bcrypt.hashpw(pw, bcrypt.gensalt(4))
        "$2b$04$Vz6N2c1odc1KlnY1ME33v.hmnVBTM92IIwj0C2L3vXd3Xtanjra6q",
        // python bcrypt 5.0: bcrypt.hashpw(pw, bcrypt.gensalt(4, prefix=b"2a"))
        "$2a$04$oShLFqRcdi./2Js5rCDfTuz42Hhg1tuKDOKL1WOWsTRgtqZIk3c/S",
        // passlib 1.7.4 pure-Python blowfish: raw_bcrypt(pw, "2y", salt, 4);
        // python bcrypt.checkpw accepts it
        "$2y$04$BwFjRNogmea.0jx3MCRpcevXxx.5As3fJddfFGX5IOlWUjAxwHunu",
    ] {
        check_import(encoded, Scheme::Bcrypt).await;
    }
}

#[tokio::test]
async fn scrypt_import_verifies_and_rehashes() {
    for encoded in [
        // hashlib.scrypt(pw, salt=os.urandom(16), n=1024, r=8, p=1, dklen=32),
        // salt and output in unpadded standard base64
        "$scrypt$ln=10,r=8,p=1$LGYIh22eG3vlGl58Ip8+OA$GqlK4ay/e0I+PAngTYEJbbYNcO23M3RYRRD+/eA7wlY",
        // passlib 1.7.4: passlib.hash.scrypt.using(rounds=10).hash(pw)
        "$scrypt$ln=10,r=8,p=1$9r73ntNa6927V8rZm/MeAw$RLFEbZjN9mE0n0qx6SMqJ2VRmAzfA3IRw5yjoBzB6oo",
    ] {
        check_import(encoded, Scheme::Scrypt).await;
    }
}

#[tokio::test]
async fn pbkdf2_import_verifies_and_rehashes() {
    for (encoded, scheme) in [
        // hashlib.pbkdf2_hmac("sha256", pw, os.urandom(16), 1000, 32), PHC with unpadded base64
        (
            "$pbkdf2-sha256$i=1000,l=32$KF4x/XAlpmdjpK+oss8n2A$DroLRyXZzbwCZ+sLsjHxJyUurJd5sOu60mGkB+YLk1s",
            Scheme::Pbkdf2Sha256,
        ),
        // hashlib.pbkdf2_hmac("sha512", pw, os.urandom(16), 1000, 64), PHC
        (
            "$pbkdf2-sha512$i=1000,l=64$N0DOuCuLs7G0IMx0jGC1Iw$19nTPcY27f5wSzszftGAKZrVtoMVS6bVm2nvu4y9jNSYGl6qOpOv704lXZtjLgte0DSolKofWKxBPqXuy+GRQg",
            Scheme::Pbkdf2Sha512,
        ),
        // passlib 1.7.4: pbkdf2_sha256.using(rounds=1000).hash(pw)
        (
            "$pbkdf2-sha256$1000$zDlnTEkJQSilVOrde2.ttQ$HTs.uIsLVRDEaj3BxG7z.5w5qe34Yoyu/0ffMHsLUpY",
            Scheme::Pbkdf2Sha256,
        ),
        // passlib 1.7.4: pbkdf2_sha512.using(rounds=1000).hash(pw)
        (
            "$pbkdf2-sha512$1000$Q0gJAQBgjHFOifEew5jzng$B2kN/G9bJLWi33cQbtzhYDSNtKMIbyPb.u/en3LC0oj9x.TqQO9k4REJptx9K.Rh0CG6LZZlVS73j.O5YMnR1g",
            Scheme::Pbkdf2Sha512,
        ),
        // Django 5.2.19: PBKDF2PasswordHasher().encode(pw, "Zb5yKQXfKvXb0FYw3e1lNk", 1000)
        (
            "pbkdf2_sha256$1000$Zb5yKQXfKvXb0FYw3e1lNk$tDxnMZtpwBj/9Bn7+8SC1MclHKxGvq38bpqMTX/Unhc=",
            Scheme::Pbkdf2Sha256,
        ),
    ] {
        check_import(encoded, scheme).await;
    }
}

#[tokio::test]
async fn sha_crypt_import_verifies_and_rehashes() {
    for (encoded, scheme) in [
        // glibc crypt(3) through Python 3.11's crypt.crypt(pw, "$5$sAlTsAlTsAlTsAlT$")
        (
            "$5$sAlTsAlTsAlTsAlT$mk2YGAaaAJFxwovUjkFJ.ofSyFQS75WG8/Uc.B6nCGB",
            Scheme::Sha256Crypt,
        ),
        // glibc: crypt.crypt(pw, "$5$rounds=1000$Ab3dEf.hIj/lMnOp$")
        (
            "$5$rounds=1000$Ab3dEf.hIj/lMnOp$84yBnlzALPEriGiDVrRNizVF6IYlXlT4M6fhgR0cZaA",
            Scheme::Sha256Crypt,
        ),
        // glibc: crypt.crypt(pw, "$6$qwErtyUi0p12$")
        (
            "$6$qwErtyUi0p12$L018eR37nmOrrFo3AraxFikxIO1v3j9w6qbvX7dgN2ajMcwGVKzPdGJqvtvtpocS.fIv7RvP3beZevUIjd6LG.",
            Scheme::Sha512Crypt,
        ),
        // glibc: crypt.crypt(pw, "$6$rounds=2000$zX9.yW8/vU7tS6rQ$")
        (
            "$6$rounds=2000$zX9.yW8/vU7tS6rQ$dHerZKw6IL0ZTeFJjPDgsm3I8E.SsOONzLcUU4Yg5WdeoWsELrEw8IUtuQsuMRyLYbJaIpvMKHEjbO0itaXmW0",
            Scheme::Sha512Crypt,
        ),
    ] {
        check_import(encoded, scheme).await;
    }
}

#[tokio::test]
async fn ldap_ssha_import_verifies_and_rehashes() {
    for (encoded, scheme) in [
        // passlib 1.7.4: ldap_salted_sha1.hash(pw) (4-byte salt)
        ("{SSHA}kFtVQwAwj6fPjXchsg3tJ9YdNzQL4Xyv", Scheme::Ssha),
        // passlib 1.7.4: ldap_salted_sha256.hash(pw) (8-byte salt)
        (
            "{SSHA256}PAlAxhEV3ieLnErT7rtYjDj4tUeq5BU5GaG2YsYv+YtNaY1xDiFkjA==",
            Scheme::Ssha256,
        ),
        // passlib 1.7.4: ldap_salted_sha512.hash(pw) (8-byte salt)
        (
            "{SSHA512}RREK6obtYqA+5NT60EvTA/49sSAMa9ihfnGyF4TstATCH5osDDwJTHb/kNXdYNYSbRhpyvYItPCI3Vr0mx8KHqiVEsJYS8n5",
            Scheme::Ssha512,
        ),
        // The same {SSHA} value with a lower-case scheme name (RFC 3112 names are case-insensitive).
        ("{ssha}kFtVQwAwj6fPjXchsg3tJ9YdNzQL4Xyv", Scheme::Ssha),
    ] {
        check_import(encoded, scheme).await;
    }
}

#[tokio::test]
async fn argon2_import_verifies_and_rehashes() {
    // argon2-cffi 25.1 (the reference C implementation):
    // argon2.low_level.hash_secret(pw, os.urandom(16), time_cost=1, memory_cost=64,
    //                              parallelism=1, hash_len=32, type=Type.I / D / ID)
    for (encoded, scheme) in [
        (
            "$argon2i$v=19$m=64,t=1,p=1$bIkYGIMv1uVI2qxZp+hC9Q$smp2gPpziyv+06Vtkyjto11hIZmG+Ux8txK0OYdpR1g",
            Scheme::Argon2i,
        ),
        (
            "$argon2d$v=19$m=64,t=1,p=1$aoVXpHJDSIdMmESAdHMH7g$djz35PWkx0Bhml7DcTCO4uvjVGBhuxzDl46UuKzMKxU",
            Scheme::Argon2d,
        ),
        (
            "$argon2id$v=19$m=64,t=1,p=1$wLLvrRSz0s9G4ZgN9DSqhw$BbIxQXTcosCu3JoKdKrWpgwCwkiOp96pNfrmIi50nNY",
            Scheme::Argon2id,
        ),
    ] {
        check_import(encoded, scheme).await;
    }
}

#[test]
fn import_rejects_malformed_or_costly_hashes() {
    const BCRYPT: &str = "$2b$04$Vz6N2c1odc1KlnY1ME33v.hmnVBTM92IIwj0C2L3vXd3Xtanjra6q";
    const ARGON2ID: &str = "$argon2id$v=19$m=64,t=1,p=1$wLLvrRSz0s9G4ZgN9DSqhw$BbIxQXTcosCu3JoKdKrWpgwCwkiOp96pNfrmIi50nNY";
    const SCRYPT: &str =
        "$scrypt$ln=10,r=8,p=1$LGYIh22eG3vlGl58Ip8+OA$GqlK4ay/e0I+PAngTYEJbbYNcO23M3RYRRD+/eA7wlY";
    const PBKDF2: &str = "$pbkdf2-sha256$i=1000,l=32$KF4x/XAlpmdjpK+oss8n2A$DroLRyXZzbwCZ+sLsjHxJyUurJd5sOu60mGkB+YLk1s";
    const SHA256_CRYPT: &str = "$5$sAlTsAlTsAlTsAlT$mk2YGAaaAJFxwovUjkFJ.ofSyFQS75WG8/Uc.B6nCGB";
    const DJANGO: &str =
        "pbkdf2_sha256$1000$Zb5yKQXfKvXb0FYw3e1lNk$tDxnMZtpwBj/9Bn7+8SC1MclHKxGvq38bpqMTX/Unhc=";
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("plain text", "correct horse battery staple".into()),
        (
            "unsalted LDAP SHA",
            "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=".into(),
        ),
        ("bcrypt $2x$", BCRYPT.replacen("$2b$", "$2x$", 1)),
        ("bcrypt truncated", BCRYPT[..59].into()),
        ("bcrypt trailing data", format!("{BCRYPT}x")),
        ("bcrypt cost 03", BCRYPT.replacen("$04$", "$03$", 1)),
        ("bcrypt cost 17", BCRYPT.replacen("$04$", "$17$", 1)),
        ("bcrypt bad alphabet", BCRYPT.replacen('V', "!", 1)),
        ("scrypt missing p", SCRYPT.replacen(",p=1", "", 1)),
        ("scrypt unknown param", SCRYPT.replacen("p=1", "p=1,x=2", 1)),
        (
            "scrypt repeated param",
            SCRYPT.replacen("p=1", "p=1,p=1", 1),
        ),
        ("scrypt 16 GiB", SCRYPT.replacen("ln=10", "ln=24", 1)),
        (
            "scrypt missing output",
            SCRYPT.rsplit_once('$').unwrap().0.into(),
        ),
        ("scrypt trailing field", format!("{SCRYPT}$AAAA")),
        ("pbkdf2 l mismatch", PBKDF2.replacen("l=32", "l=31", 1)),
        ("pbkdf2 zero rounds", PBKDF2.replacen("i=1000", "i=0", 1)),
        (
            "pbkdf2 huge rounds",
            PBKDF2.replacen("i=1000", "i=900000000", 1),
        ),
        ("pbkdf2 missing i", PBKDF2.replacen("i=1000,", "", 1)),
        ("pbkdf2 bad base64", PBKDF2.replacen("DroL", "Dr*L", 1)),
        ("pbkdf2 sha1", PBKDF2.replacen("sha256", "sha1", 1)),
        (
            "passlib pbkdf2 short hash",
            "$pbkdf2-sha256$1000$zDlnTEkJQSilVOrde2.ttQ$HTs.uIsLVRDEaj3BxG7z".into(),
        ),
        ("django short hash", DJANGO.replacen("tDxnMZtpwBj/", "", 1)),
        (
            "django missing salt",
            DJANGO.replacen("Zb5yKQXfKvXb0FYw3e1lNk", "", 1),
        ),
        (
            "sha-crypt rounds below 1000",
            SHA256_CRYPT.replacen("$5$", "$5$rounds=999$", 1),
        ),
        (
            "sha-crypt rounds huge",
            SHA256_CRYPT.replacen("$5$", "$5$rounds=999999999$", 1),
        ),
        (
            "sha-crypt rounds not a number",
            SHA256_CRYPT.replacen("$5$", "$5$rounds=x$", 1),
        ),
        (
            "sha-crypt salt of 17",
            SHA256_CRYPT.replacen("sAlT$", "sAlTs$", 1),
        ),
        (
            "sha-crypt short hash",
            SHA256_CRYPT[..SHA256_CRYPT.len() - 1].into(),
        ),
        (
            "sha-crypt $6$ with $5$ length",
            SHA256_CRYPT.replacen("$5$", "$6$", 1),
        ),
        (
            "ssha without salt",
            "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=".into(),
        ),
        (
            "ssha not base64",
            "{SSHA}!!!!kFtVQwAwj6fPjXchsg3tJ9YdNzQL4Xyv".into(),
        ),
        (
            "argon2 keyid",
            ARGON2ID.replacen("p=1", "p=1,keyid=AAAA", 1),
        ),
        ("argon2 version 18", ARGON2ID.replacen("v=19", "v=18", 1)),
        ("argon2 missing t", ARGON2ID.replacen("t=1,", "", 1)),
        ("argon2 2 GiB", ARGON2ID.replacen("m=64", "m=2097152", 1)),
        (
            "argon2 missing output",
            ARGON2ID.rsplit_once('$').unwrap().0.into(),
        ),
        ("argon2 trailing field", format!("{ARGON2ID}$AAAA")),
        (
            "argon2 unknown variant",
            ARGON2ID.replacen("argon2id", "argon2x", 1),
        ),
        ("over-long input", format!("{ARGON2ID}{}", "A".repeat(600))),
    ];
    for (name, encoded) in cases {
        assert!(
            matches!(
                StoredPassword::import(&encoded),
                Err(PasswordError::UnsupportedHash(_))
            ),
            "{name}: {encoded:?} was accepted"
        );
    }
}

#[tokio::test]
async fn owasp_defaults_produce_expected_phc_prefix() {
    let hasher = PasswordHasher::new(1);
    let stored = hasher.hash(&Secret::new(PASSWORD)).await.unwrap();
    assert!(
        stored
            .as_str()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        stored.as_str()
    );
    assert_eq!(stored.scheme(), Scheme::Argon2id);
    assert_eq!(
        hasher
            .verify(&Secret::new(PASSWORD), &stored)
            .await
            .unwrap(),
        Verification::Match { rehash: None }
    );
}

#[tokio::test]
async fn hash_uses_fresh_salt_each_time() {
    let hasher = hasher();
    let a = hasher.hash(&Secret::new(PASSWORD)).await.unwrap();
    let b = hasher.hash(&Secret::new(PASSWORD)).await.unwrap();
    assert_ne!(a, b);
    let salt = |s: &StoredPassword| s.as_str().split('$').nth(4).unwrap().to_owned();
    assert_eq!(salt(&a).len(), 22, "16-byte salt in unpadded base64");
    assert_ne!(salt(&a), salt(&b));
}

#[tokio::test]
async fn argon2id_with_other_params_is_rehashed_to_current() {
    let old = PasswordHasher::with_params(64, 2, 1, 1).unwrap();
    let current = hasher();
    let stored = old.hash(&Secret::new(PASSWORD)).await.unwrap();
    let Verification::Match {
        rehash: Some(rehash),
    } = current
        .verify(&Secret::new(PASSWORD), &stored)
        .await
        .unwrap()
    else {
        unreachable!("expected a rehash");
    };
    assert!(rehash.as_str().starts_with("$argon2id$v=19$m=128,t=1,p=1$"));
    assert_eq!(
        current
            .verify(&Secret::new("wrong"), &stored)
            .await
            .unwrap(),
        Verification::Mismatch
    );
}

#[tokio::test]
async fn corrupt_stored_hash_is_an_error_not_a_mismatch() {
    let hasher = hasher();
    for encoded in ["", "garbage", "$argon2id$v=19$m=64,t=1,p=1$short$hash"] {
        let stored = StoredPassword::from_stored(encoded.to_owned());
        assert!(
            matches!(
                hasher.verify(&Secret::new(PASSWORD), &stored).await,
                Err(PasswordError::UnsupportedHash(_))
            ),
            "{encoded:?}"
        );
    }
}

#[tokio::test]
async fn overlong_password_is_refused_before_any_work() {
    let hasher = hasher();
    let long = Secret::new("a".repeat(MAX_PASSWORD_BYTES + 1));
    assert_eq!(hasher.hash(&long).await, Err(PasswordError::TooLong));
    let stored = hasher.hash(&Secret::new(PASSWORD)).await.unwrap();
    assert_eq!(
        hasher.verify(&long, &stored).await.unwrap(),
        Verification::Mismatch
    );
}

#[tokio::test]
async fn many_concurrent_hashes_complete_with_one_permit() {
    let hasher = PasswordHasher::with_params(64, 1, 1, 1).unwrap();
    let jobs: Vec<_> = (0..8)
        .map(|i| {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.hash(&Secret::new(format!("password {i}"))).await })
        })
        .collect();
    for job in jobs {
        assert!(job.await.unwrap().is_ok());
    }
}

#[tokio::test]
async fn dummy_verify_completes() {
    hasher().dummy_verify(&Secret::new(PASSWORD)).await.unwrap();
    PasswordHasher::new(1)
        .dummy_verify(&Secret::new(""))
        .await
        .unwrap();
}

#[test]
fn with_params_rejects_invalid_or_excessive_params() {
    for (m, t, p) in [
        (1, 1, 1),
        (64, 0, 1),
        (64, 1, 0),
        (2 << 20, 1, 1),
        (64, 33, 1),
        (1024, 1, 17),
    ] {
        assert!(
            matches!(
                PasswordHasher::with_params(m, t, p, 1),
                Err(PasswordError::InvalidParams(_))
            ),
            "m={m} t={t} p={p}"
        );
    }
}

#[test]
fn stored_password_debug_shows_scheme_only() {
    let stored = StoredPassword::from_stored(
        "$argon2id$v=19$m=64,t=1,p=1$wLLvrRSz0s9G4ZgN9DSqhw$BbIxQXTcosCu3JoKdKrWpgwCwkiOp96pNfrmIi50nNY"
            .to_owned(),
    );
    assert_eq!(format!("{stored:?}"), "StoredPassword(argon2id)");
    assert_eq!(
        format!("{:?}", StoredPassword::from_stored("nonsense".into())),
        "StoredPassword(unknown)"
    );
}

#[test]
fn scheme_is_recognised_from_prefix() {
    let table = [
        ("$argon2id$…", Scheme::Argon2id),
        ("$argon2i$…", Scheme::Argon2i),
        ("$argon2d$…", Scheme::Argon2d),
        ("$2a$…", Scheme::Bcrypt),
        ("$2b$…", Scheme::Bcrypt),
        ("$2y$…", Scheme::Bcrypt),
        ("$2x$…", Scheme::Unknown),
        ("$scrypt$…", Scheme::Scrypt),
        ("$pbkdf2-sha256$…", Scheme::Pbkdf2Sha256),
        ("pbkdf2_sha256$…", Scheme::Pbkdf2Sha256),
        ("$pbkdf2-sha512$…", Scheme::Pbkdf2Sha512),
        ("$5$…", Scheme::Sha256Crypt),
        ("$6$…", Scheme::Sha512Crypt),
        ("{SSHA}…", Scheme::Ssha),
        ("{ssha256}…", Scheme::Ssha256),
        ("{SSHA512}…", Scheme::Ssha512),
        ("{SHA}…", Scheme::Unknown),
        ("$1$…", Scheme::Unknown),
        ("", Scheme::Unknown),
    ];
    for (encoded, scheme) in table {
        assert_eq!(Scheme::of(encoded), scheme, "{encoded}");
    }
}

#[tokio::test]
async fn history_reused_checks_only_the_configured_depth() {
    let hasher = hasher();
    let mut previous = Vec::new();
    for password in ["newest-pass-1", "middle-pass-2", "oldest-pass-3"] {
        previous.push(hasher.hash(&Secret::new(password)).await.unwrap());
    }
    let policy = |history| PasswordPolicy {
        history,
        ..PasswordPolicy::default()
    };
    let reused = |history, password: &'static str| {
        let hasher = hasher.clone();
        let previous = previous.clone();
        async move {
            policy(history)
                .reused(&hasher, &Secret::new(password), &previous)
                .await
                .unwrap()
        }
    };
    assert!(!reused(0, "newest-pass-1").await);
    assert!(reused(1, "newest-pass-1").await);
    assert!(!reused(2, "oldest-pass-3").await);
    assert!(reused(3, "oldest-pass-3").await);
    assert!(!reused(3, "never-used-4").await);
}
