//! Authenticator codes (TOTP, RFC 6238) and recovery codes: the second
//! factor of a staff sign-in. Pure functions of a secret and a time; the
//! sign-in flow that uses them is in [`crate::signin`].

use argon2::password_hash::rand_core::{OsRng, RngCore};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha1::Sha1;

/// RFC 6238's defaults, which every authenticator app supports: HMAC-SHA1,
/// 30-second steps, 6 digits.
pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// A code from the step before or after is accepted too: a phone's clock
/// a little off, or a code typed as it changed (RFC 6238 §5.2 allows one).
pub const DRIFT_STEPS: i64 = 1;
/// 160 bits, the length RFC 4226 §4 recommends for the shared secret.
const SECRET_BYTES: usize = 20;
/// Enough to get back in a few times while the phone is replaced.
pub const RECOVERY_CODES: usize = 10;
/// 16 base32 characters, 80 bits: not guessable even from their hashes.
const RECOVERY_CODE_CHARS: usize = 16;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32 as people copy it: any case, spaces and `=` ignored.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = vec![];
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in s.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = BASE32
            .iter()
            .position(|&b| b as char == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// A new shared secret for an authenticator app, base32.
pub fn new_secret() -> String {
    let mut b = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut b);
    base32_encode(&b)
}

/// The time step an instant falls in.
pub fn step_at(now: Timestamp) -> i64 {
    now.as_second().div_euclid(STEP_SECONDS)
}

/// The HOTP value (RFC 4226 §5.3) of a secret for a counter, as the
/// authenticator shows it: `DIGITS` digits.
pub fn code_for(secret: &[u8], counter: i64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[19] & 0x0f);
    let binary = u32::from_be_bytes([
        h[offset] & 0x7f,
        h[offset + 1],
        h[offset + 2],
        h[offset + 3],
    ]);
    binary % 10u32.pow(DIGITS)
}

/// The code an authenticator with this base32 secret shows at `now`.
pub fn code_at(secret: &str, now: Timestamp) -> Option<String> {
    let key = base32_decode(secret)?;
    Some(format!("{:06}", code_for(&key, step_at(now))))
}

/// The step whose code this is, if it is the code of a step near `now`
/// and later than `last_step` (a code is good once).
pub fn matching_step(
    secret: &str,
    typed: &str,
    now: Timestamp,
    last_step: Option<i64>,
) -> Option<i64> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let typed: u32 = digits.parse().ok()?;
    let key = base32_decode(secret)?;
    let here = step_at(now);
    (here - DRIFT_STEPS..=here + DRIFT_STEPS)
        .filter(|s| last_step.is_none_or(|last| *s > last))
        .find(|s| code_for(&key, *s) == typed)
}

/// Whether what was typed looks like a six-digit code rather than a
/// recovery code.
pub fn looks_like_code(typed: &str) -> bool {
    let digits: Vec<char> = typed.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == DIGITS as usize && digits.iter().all(|c| c.is_ascii_digit())
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'@' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// The secret in groups of four, easier to type than to scan wrong.
pub fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// New recovery codes, lower case in groups of four (`abcd-efgh-…`).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut b = [0u8; RECOVERY_CODE_CHARS * 5 / 8];
            OsRng.fill_bytes(&mut b);
            base32_encode(&b)
                .to_lowercase()
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// The stored hash of a recovery code, however it was typed (case, spaces,
/// dashes). SHA-256 suffices: the codes are random, 80 bits each.
pub fn recovery_code_hash(typed: &str) -> String {
    let canonical: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    crate::signin::token_hash(&format!("recovery code\0{canonical}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 column (8 digits there; the last 6 here).
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let key = b"12345678901234567890";
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let at = Timestamp::from_second(time).unwrap();
            assert_eq!(
                format!("{:06}", code_for(key, step_at(at))),
                eight[2..],
                "at {time}"
            );
        }
        let secret = base32_encode(key);
        assert_eq!(secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32_decode(&secret.to_lowercase()).unwrap(), key);
        let at = Timestamp::from_second(59).unwrap();
        assert_eq!(code_at(&secret, at).unwrap(), "287082");
    }

    #[test]
    fn a_code_is_good_near_its_time_and_once() {
        let secret = new_secret();
        assert_eq!(base32_decode(&secret).unwrap().len(), 20);
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let code = code_at(&secret, now).unwrap();
        let step = step_at(now);
        assert_eq!(matching_step(&secret, &code, now, None), Some(step));
        assert_eq!(
            matching_step(
                &secret,
                &format!("{} {}", &code[..3], &code[3..]),
                now,
                None
            ),
            Some(step),
            "typed with a space"
        );
        let later = now + jiff::SignedDuration::from_secs(STEP_SECONDS);
        assert_eq!(
            matching_step(&secret, &code, later, None),
            Some(step),
            "one step late"
        );
        let much_later = now + jiff::SignedDuration::from_secs(3 * STEP_SECONDS);
        assert_eq!(matching_step(&secret, &code, much_later, None), None);
        assert_eq!(
            matching_step(&secret, &code, now, Some(step)),
            None,
            "not twice"
        );
        assert_eq!(matching_step(&secret, "12345", now, None), None);
        assert_eq!(matching_step(&secret, "abcdef", now, None), None);
    }

    #[test]
    fn recovery_codes_are_random_and_hash_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(codes[0].len(), 19, "{}", codes[0]);
        assert_ne!(codes[0], codes[1]);
        let c = &codes[0];
        assert_eq!(
            recovery_code_hash(c),
            recovery_code_hash(&c.to_uppercase().replace('-', " "))
        );
        assert!(!looks_like_code(c));
        assert!(looks_like_code("123 456"));
    }

    #[test]
    fn the_address_names_the_account() {
        let uri = otpauth_uri("Needlepoint", "ann@clinic.example", "ABCD");
        assert_eq!(
            uri,
            "otpauth://totp/Needlepoint:ann@clinic.example?secret=ABCD&issuer=Needlepoint&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
