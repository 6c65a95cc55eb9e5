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

/// Gives an account a random one-time password that must be changed at the next log-in; unlocks
/// the account and ends its sessions. Returns the password (to hand over once).
pub fn reset_password(store: &Store, username: &str) -> StoreResult<String> {
    let password = random_password();
    set_password(store, username, &password)?;
    store.blocking(|conn| {
        let now = chrono::Utc::now();
        let id: String = conn.query_row(
            "UPDATE accounts SET password_must_change = 1, failed_logins = 0, locked_until = NULL
             WHERE username = ?1 AND archived_at IS NULL RETURNING id",
            [username],
            |r| r.get(0),
        )?;
        crate::web::session::end_all(conn, &id, now)?;
        crate::store::logs::audit(
            conn,
            &Who::cli("account-password"),
            crate::store::logs::Action::Update,
            "accounts",
            Some(&id),
            None,
        )
    })?;
    Ok(password)
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

/// Failed password or code tries in a row that lock an account.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a locked account stays locked.
pub const LOCK_MINUTES: i64 = 15;

/// What a log-in needs to know of an account.
#[derive(Clone, Debug)]
pub struct LoginAccount {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub region_id: Option<String>,
    pub password_hash: Option<String>,
    pub locked_until: Option<chrono::DateTime<chrono::Utc>>,
    /// The TOTP secret (set up or being set up) and whether a code confirmed it.
    pub totp_secret: Option<Vec<u8>>,
    pub totp_confirmed: bool,
    pub totp_last_step: Option<i64>,
}

impl LoginAccount {
    /// The lock's end, if the account is locked at `now`.
    pub fn locked_at(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.locked_until.filter(|until| *until > now)
    }

    /// Whether the role logs in with a second factor.
    pub fn needs_totp(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Dispatcher)
    }
}

/// A live account by username or id, for logging in.
pub fn login_account(
    conn: &rusqlite::Connection,
    username_or_id: &str,
) -> StoreResult<Option<LoginAccount>> {
    use rusqlite::OptionalExtension;
    type Row = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let row: Option<Row> = conn
        .query_row(
            "SELECT id, username, role, region_id, password_hash, locked_until, totp_secret,
                    totp_confirmed_at, totp_last_step
             FROM accounts WHERE (username = ?1 OR id = ?1) AND archived_at IS NULL",
            [username_or_id],
            |r| Row::try_from(r),
        )
        .optional()?;
    let Some((
        id,
        username,
        role,
        region_id,
        password_hash,
        locked_until,
        secret,
        confirmed,
        last_step,
    )) = row
    else {
        return Ok(None);
    };
    let role = stored_role(role)?;
    let locked_until = locked_until
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(&t)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| StoreError::Internal(format!("locked_until {t}: {e}")))
        })
        .transpose()?;
    let totp_secret = secret
        .map(|s| hex::decode(&s).map_err(|e| StoreError::Internal(format!("totp secret: {e}"))))
        .transpose()?;
    Ok(Some(LoginAccount {
        id,
        username,
        role,
        region_id,
        password_hash,
        locked_until,
        totp_secret,
        totp_confirmed: confirmed.is_some(),
        totp_last_step: last_step,
    }))
}

/// An account's role as the `accounts` table stores it (`admin`, `health_worker`, …).
pub fn stored_role(text: String) -> StoreResult<Role> {
    serde_json::from_value(serde_json::Value::String(text))
        .map_err(|e| StoreError::Internal(format!("bad role: {e}")))
}

/// Writes a log-in event (`ok`, `wrong_password`, `wrong_code`, `locked`, `unknown_user`,
/// `logout`, `expired`).
pub fn login_event(
    conn: &rusqlite::Connection,
    username: &str,
    account_id: Option<&str>,
    outcome: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO login_events (at, username, account_id, outcome) VALUES (?1, ?2, ?3, ?4)",
        params![
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            username,
            account_id,
            outcome
        ],
    )?;
    Ok(())
}

/// Counts a failed try; the fifth in a row locks the account for [`LOCK_MINUTES`] and ends its
/// sessions. Returns the lock's end when this try locked it.
pub fn record_failure(
    conn: &rusqlite::Connection,
    account: &LoginAccount,
    outcome: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
    login_event(conn, &account.username, Some(&account.id), outcome, now)?;
    let failed: i64 = conn.query_row(
        "UPDATE accounts SET failed_logins = failed_logins + 1 WHERE id = ?1 RETURNING failed_logins",
        [&account.id],
        |r| r.get(0),
    )?;
    if failed < MAX_FAILED_LOGINS {
        return Ok(None);
    }
    let until = now + chrono::Duration::minutes(LOCK_MINUTES);
    conn.execute(
        "UPDATE accounts SET failed_logins = 0, locked_until = ?2 WHERE id = ?1",
        params![
            account.id,
            until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ],
    )?;
    crate::web::session::end_all(conn, &account.id, now)?;
    Ok(Some(until))
}

/// Clears the failure count after a successful step.
pub fn record_success(
    conn: &rusqlite::Connection,
    account: &LoginAccount,
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE id = ?1",
        [&account.id],
    )?;
    login_event(conn, &account.username, Some(&account.id), "ok", now)
}

/// An argon2id hash of nothing anyone knows, checked when a username is unknown so that the
/// answer takes as long as for a known one.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_password()).unwrap_or_default())
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
