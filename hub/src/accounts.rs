//! Hub accounts outside the generic record path: password hashes and the first administrator.
//!
//! There are no default passwords: the first start of a hub creates an administrator with a
//! random password and writes it to a file only root and the hub can read.

use std::io::Write;
use std::path::{Path, PathBuf};

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use rusqlite::params;

use crate::domain::{Account, Role};
use crate::store::logs::Who;
use crate::store::records;
use crate::store::{Store, StoreError, StoreResult};

/// File in the data directory holding the first administrator's credentials.
pub const CREDENTIALS_FILE: &str = "admin-credentials.txt";

/// Hashes a password with argon2id, 19 MiB and 2 iterations (OWASP's minimum for argon2id).
pub fn hash_password(password: &str) -> StoreResult<String> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| StoreError::Internal(format!("argon2 parameters: {e}")))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| StoreError::Internal(format!("password salt: {e}")))?;
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Internal(format!("hashing password: {e}")))
}

/// A random password of 20 characters without look-alikes (about 113 bits).
pub fn random_password() -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

/// Sets an account's password.
pub fn set_password(store: &Store, username: &str, password: &str) -> StoreResult<()> {
    let hash = hash_password(password)?;
    store.blocking(|conn| {
        let changed = conn.execute(
            "UPDATE accounts SET password_hash = ?1, updated_at = ?2, version = version + 1
             WHERE username = ?3 AND archived_at IS NULL",
            params![hash, crate::store::now_text(), username],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                kind: "account",
                id: username.to_string(),
            });
        }
        Ok(())
    })
}

/// Makes sure the hub has an administrator. If it has none, creates `admin` with a random
/// password, writes the credentials to [`CREDENTIALS_FILE`] in `data_dir` (mode 0600) and returns
/// the file's path; if one exists, returns the file's path when it is still there.
pub fn ensure_admin(store: &Store, data_dir: &Path) -> StoreResult<Option<PathBuf>> {
    let path = data_dir.join(CREDENTIALS_FILE);
    let admins: i64 = store.blocking(|conn| {
        Ok(conn.query_row(
            "SELECT count(*) FROM accounts WHERE role = 'admin' AND archived_at IS NULL
             AND password_hash IS NOT NULL",
            [],
            |r| r.get(0),
        )?)
    })?;
    if admins > 0 {
        return Ok(path.exists().then_some(path));
    }
    let password = random_password();
    let account = Account {
        region_id: None,
        username: "admin".into(),
        display_name: "Administrator".into(),
        role: Role::Admin,
        caregiver_id: None,
    };
    store.blocking(|conn| {
        let existing: i64 = conn.query_row(
            "SELECT count(*) FROM accounts WHERE username = 'admin'",
            [],
            |r| r.get(0),
        )?;
        if existing == 0 {
            records::create(conn, &Who::cli("first-start"), None, &account)?;
        }
        Ok(())
    })?;
    set_password(store, "admin", &password)?;
    write_private(
        &path,
        &format!("# Dorfpunkt hub administrator\nusername: admin\npassword: {password}\n"),
    )
    .map_err(|e| StoreError::Internal(format!("writing {}: {e}", path.display())))?;
    Ok(Some(path))
}

/// Reads the credentials file written by [`ensure_admin`].
pub fn read_credentials(path: &Path) -> std::io::Result<(String, String)> {
    let text = std::fs::read_to_string(path)?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .ok_or_else(|| std::io::Error::other(format!("{} has no {name}", path.display())))
    };
    Ok((field("username:")?, field("password:")?))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_creates_one_admin_with_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("hub.db")).unwrap();
        let path = ensure_admin(&store, dir.path())
            .unwrap()
            .expect("credentials written");
        let (user, password) = read_credentials(&path).unwrap();
        assert_eq!(user, "admin");
        assert_eq!(password.len(), 20);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let hash: String = store
            .blocking(|c| Ok(c.query_row("SELECT password_hash FROM accounts", [], |r| r.get(0))?))
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(crate::api::auth::verify_password(&password, &hash));
        assert!(!crate::api::auth::verify_password("wrong", &hash));
        // A second start keeps the administrator and the password.
        ensure_admin(&store, dir.path()).unwrap();
        assert_eq!(read_credentials(&path).unwrap().1, password);
    }
}
