//! Passwords: argon2id hashes in PHC strings (salt and parameters inside),
//! and what a new password must be.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;

/// Shortest password accepted.
pub const MIN_LEN: usize = 10;
const MAX_LEN: usize = 128;

/// Hashes a password that [`check_new`] accepted.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// True when `password` matches the stored PHC string. A malformed hash
/// never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time a real verification takes, for a user name that does
/// not exist, so the answer's timing does not tell which names do.
pub fn verify_nobody(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("no user has this password").unwrap_or_default());
    let _ = verify(password, phc);
}

/// Whether a new password is acceptable; the reason when not.
pub fn check_new(password: &str, user_name: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(format!("password: at least {MIN_LEN} characters"));
    }
    if chars > MAX_LEN {
        return Err(format!("password: at most {MAX_LEN} characters"));
    }
    if password.to_lowercase().contains(&user_name.to_lowercase()) {
        return Err("password: must not contain the user name".into());
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err("password: must not be one character repeated".into());
    }
    Ok(())
}

/// A random password for a new user (16 characters from a 56-letter
/// alphabet without look-alikes: about 93 bits).
pub fn generate() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("correct horse battery", "not a hash"));
    }

    #[test]
    fn weak_passwords_are_named() {
        assert!(check_new("short", "li").unwrap_err().contains("at least"));
        assert!(check_new("xx-liwei-2026", "liwei")
            .unwrap_err()
            .contains("user name"));
        assert!(check_new("aaaaaaaaaaaa", "li")
            .unwrap_err()
            .contains("repeated"));
        assert!(check_new(&generate(), "li").is_ok());
    }
}
