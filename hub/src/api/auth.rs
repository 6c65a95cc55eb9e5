//! Authentication for the API, in one layer that accounts with sessions and device certificates
//! will replace: today HTTP Basic credentials of a hub account, checked against its argon2id hash.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::{ApiError, REQUEST_ID};
use crate::domain::Role;
use crate::store::logs::Who;

/// How long a verified credential is trusted without hashing it again. Argon2id is slow on
/// purpose; a client sending many requests should not pay it each time.
const CACHE_FOR: Duration = Duration::from_secs(300);

/// The account behind a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub account_id: String,
    pub username: String,
    pub role: Role,
    pub region_id: Option<String>,
}

impl Caller {
    /// The caller as the audit log names it, with the request id.
    pub fn who(&self) -> Who {
        Who {
            actor: format!("account:{}", self.username),
            request_id: REQUEST_ID.try_with(Clone::clone).ok(),
        }
    }

    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                detail: format!("{:?} accounts may not do this", self.role),
            })
        }
    }
}

/// Verified credentials, keyed by a hash of username and password.
#[derive(Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<[u8; 32], (Caller, Instant)>>,
}

impl CredentialCache {
    fn get(&self, key: &[u8; 32]) -> Option<Caller> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < CACHE_FOR)
            .map(|(c, _)| c.clone())
    }

    fn put(&self, key: [u8; 32], caller: Caller) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, (_, at)| at.elapsed() < CACHE_FOR);
        entries.insert(key, (caller, Instant::now()));
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (username, password) = basic_credentials(parts).ok_or(ApiError::Unauthorized)?;
        let key: [u8; 32] = Sha256::digest(format!("{username}\u{0}{password}")).into();
        if let Some(caller) = state.credentials.get(&key) {
            return Ok(caller);
        }
        let caller = state
            .store
            .run(move |conn| {
                let now = chrono::Utc::now();
                let Some(account) = crate::accounts::login_account(conn, &username)? else {
                    return Ok(None);
                };
                // The same lock-out as the web log-in: five wrong passwords in a row lock the
                // account for 15 minutes, for the API too.
                if account.username != username || account.locked_at(now).is_some() {
                    return Ok(None);
                }
                let ok = account
                    .password_hash
                    .as_deref()
                    .is_some_and(|hash| verify_password(&password, hash));
                if !ok {
                    crate::accounts::record_failure(conn, &account, "wrong_password", now)?;
                    return Ok(None);
                }
                Ok(Some(Caller {
                    account_id: account.id,
                    username: account.username,
                    role: account.role,
                    region_id: account.region_id,
                }))
            })
            .await?
            .ok_or(ApiError::Unauthorized)?;
        state.credentials.put(key, caller.clone());
        Ok(caller)
    }
}

fn basic_credentials(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// Checks a password against its argon2id PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}
