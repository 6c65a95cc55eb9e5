//! The admins' account page (`/console/accounts`): who may log in, with role, region, second
//! factor, lock and last log-in; creating accounts, archiving them, one-time passwords, unlocking,
//! resetting the second factor, and an account's recent log-in events. There are no default
//! passwords: a new or reset password is random, shown once, and must be changed at the next
//! log-in. Every change ends the account's sessions where it should and writes an audit line in
//! the same transaction.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use maud::{Markup, html};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;

use super::error::WebError;
use super::layout::{button_form, csrf_field, input, notice, page, select};
use super::session::{self, CsrfForm, WebUser};
use super::{local_time, regions};
use crate::accounts;
use crate::api::AppState;
use crate::domain::{Account, Role};
use crate::store::logs::{self, Action, Who};
use crate::store::records;
use crate::store::{StoreError, StoreResult};

/// Time zone of hub-wide pages (accounts are not of one region).
const TIME_ZONE: &str = "Europe/Berlin";
/// Log-in events shown for one account.
const EVENTS_SHOWN: i64 = 50;
/// Longest display name taken.
const MAX_DISPLAY_NAME: usize = 100;
/// Roles an admin gives here; caregiver accounts come from the caregivers' registration.
const ROLES: &[(Role, &str)] = &[
    (Role::Admin, "Administration"),
    (Role::Dispatcher, "Disposition"),
    (Role::HealthWorker, "Gesundheitslotsin/-lotse"),
    (Role::Driver, "Fahrerin/Fahrer"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/accounts", get(accounts_page).post(create_account))
        .route("/console/accounts/{id}", get(account_page))
        .route("/console/accounts/{id}/archive", post(archive))
        .route("/console/accounts/{id}/password", post(reset_password))
        .route("/console/accounts/{id}/unlock", post(unlock))
        .route("/console/accounts/{id}/totp-reset", post(reset_totp))
}

fn role_value(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Dispatcher => "dispatcher",
        Role::HealthWorker => "health_worker",
        Role::Driver => "driver",
        Role::Caregiver => "caregiver",
    }
}

fn role_word(role: &str) -> &str {
    match role {
        "caregiver" => "Angehörige/r",
        other => ROLES
            .iter()
            .find(|(r, _)| role_value(*r) == other)
            .map_or(other, |(_, word)| word),
    }
}

/// One account as the list and the detail page show it.
struct AccountRow {
    id: String,
    username: String,
    display_name: String,
    role: String,
    region: Option<String>,
    region_id: Option<String>,
    totp: bool,
    locked_until: Option<String>,
    last_login: Option<String>,
    archived_at: Option<String>,
    must_change: bool,
}

const ACCOUNT_SQL: &str = "SELECT a.id, a.username, a.display_name, a.role, r.name, a.region_id,
        a.totp_confirmed_at IS NOT NULL, a.locked_until,
        (SELECT max(e.at) FROM login_events e WHERE e.account_id = a.id AND e.outcome = 'ok'),
        a.archived_at, a.password_must_change = 1
    FROM accounts a LEFT JOIN regions r ON r.id = a.region_id";

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: r.get(3)?,
        region: r.get(4)?,
        region_id: r.get(5)?,
        totp: r.get(6)?,
        locked_until: r.get(7)?,
        last_login: r.get(8)?,
        archived_at: r.get(9)?,
        must_change: r.get(10)?,
    })
}

/// The live accounts by username; the list is audited like any read of accounts.
fn list_accounts(conn: &Connection, who: &Who) -> StoreResult<Vec<AccountRow>> {
    let mut stmt = conn.prepare(&format!(
        "{ACCOUNT_SQL} WHERE a.archived_at IS NULL ORDER BY a.username"
    ))?;
    let rows = stmt
        .query_map([], account_row)?
        .collect::<Result<Vec<_>, _>>()?;
    logs::audit(conn, who, Action::List, "accounts", None, None)?;
    Ok(rows)
}

/// One account (archived ones too), audited as a read; `NotFound` if there is none.
fn read_account(conn: &Connection, who: &Who, id: &str) -> StoreResult<AccountRow> {
    let row = conn
        .query_row(&format!("{ACCOUNT_SQL} WHERE a.id = ?1"), [id], account_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            kind: "account",
            id: id.to_string(),
        })?;
    logs::audit(
        conn,
        who,
        Action::Read,
        "accounts",
        Some(id),
        row.region_id.as_deref(),
    )?;
    Ok(row)
}

fn is_locked(row: &AccountRow) -> bool {
    row.locked_until
        .as_deref()
        .is_some_and(|until| until > crate::store::now_text().as_str())
}

/// Whether the second factor is set up; only admins and dispatchers log in with one.
fn totp_word(row: &AccountRow) -> &'static str {
    match (row.totp, row.role.as_str()) {
        (true, _) => "eingerichtet",
        (false, "admin" | "dispatcher") => "nicht eingerichtet",
        (false, _) => "nicht nötig",
    }
}

fn accounts_table(rows: &[AccountRow]) -> Markup {
    html! {
        div class="table-wrap" tabindex="0" role="region" aria-label="Aktive Konten" {
            table class="accounts" {
                caption { "Aktive Konten" }
                thead { tr {
                    th scope="col" { "Benutzername" }
                    th scope="col" { "Name" }
                    th scope="col" { "Rolle" }
                    th scope="col" { "Region" }
                    th scope="col" { "Zweiter Faktor" }
                    th scope="col" { "Gesperrt bis" }
                    th scope="col" { "Letzte Anmeldung" }
                } }
                tbody {
                    @for row in rows {
                        tr {
                            th scope="row" {
                                a href=(format!("/console/accounts/{}", row.id)) { (row.username) }
                            }
                            td { (row.display_name) }
                            td { (role_word(&row.role)) }
                            td { (row.region.as_deref().unwrap_or("alle Regionen")) }
                            td { (totp_word(row)) }
                            td { @match (&row.locked_until, is_locked(row)) {
                                (Some(until), true) => (local_time(until, TIME_ZONE)),
                                _ => "nicht gesperrt",
                            } }
                            td { @match &row.last_login {
                                Some(at) => (local_time(at, TIME_ZONE)),
                                None => "noch nie",
                            } }
                        }
                    }
                }
            }
        }
    }
}

fn create_form(user: &WebUser, all_regions: &[(String, String)]) -> Markup {
    let roles: Vec<(String, String)> = ROLES
        .iter()
        .map(|(r, w)| (role_value(*r).to_string(), (*w).to_string()))
        .collect();
    let mut region_options = vec![(String::new(), "keine (nur Administration)".to_string())];
    region_options.extend(all_regions.iter().cloned());
    html! {
        h2 { "Konto anlegen" }
        p {
            "Das neue Konto erhält ein Einmal-Passwort, das nur einmal angezeigt wird; bei der "
            "ersten Anmeldung wird ein eigenes Passwort gewählt. Konten für Angehörige entstehen "
            "bei deren Registrierung."
        }
        form method="post" action="/console/accounts" {
            (csrf_field(user))
            input type="hidden" name="client_id" value=(uuid::Uuid::new_v4());
            (input("username", "Benutzername", "text", "", true,
                Some("3 bis 40 Zeichen: Kleinbuchstaben a–z, Ziffern, Punkt, Unterstrich, Bindestrich.")))
            (input("display_name", "Name", "text", "", true, None))
            (select("role", "Rolle", &roles, "dispatcher", true))
            (select("region_id", "Region (für alle außer Administration)", &region_options, "", false))
            button type="submit" { "Konto anlegen" }
        }
    }
}

async fn accounts_page(State(app): State<AppState>, user: WebUser) -> Result<Markup, WebError> {
    user.require(&[Role::Admin])?;
    let who = user.who();
    let rows = app.store.run(move |conn| list_accounts(conn, &who)).await?;
    let all_regions = regions(&app).await?;
    Ok(page(
        Some(&user),
        "Konten",
        html! {
            (accounts_table(&rows))
            (create_form(&user, &all_regions))
        },
    ))
}

#[derive(Deserialize)]
struct CreateForm {
    client_id: String,
    username: String,
    display_name: String,
    role: String,
    #[serde(default)]
    region_id: String,
}

fn bad(text: impl Into<String>) -> WebError {
    WebError::BadRequest(text.into())
}

/// The account the form describes, checked with German reasons (the domain checks again).
fn account_from(form: &CreateForm) -> Result<Account, WebError> {
    let username = form.username.trim().to_string();
    let ok = (3..=40).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if !ok {
        return Err(bad(
            "Der Benutzername muss 3 bis 40 Zeichen lang sein: Kleinbuchstaben a–z, Ziffern, \
             Punkt, Unterstrich oder Bindestrich.",
        ));
    }
    let display_name = form.display_name.trim().to_string();
    if display_name.is_empty() {
        return Err(bad("Bitte geben Sie den Namen der Person an."));
    }
    if display_name.chars().count() > MAX_DISPLAY_NAME {
        return Err(bad(format!(
            "Der Name ist zu lang (höchstens {MAX_DISPLAY_NAME} Zeichen)."
        )));
    }
    let role = ROLES
        .iter()
        .map(|(r, _)| *r)
        .find(|r| role_value(*r) == form.role)
        .ok_or_else(|| bad("Diese Rolle gibt es nicht."))?;
    let region_id = Some(form.region_id.trim().to_string()).filter(|r| !r.is_empty());
    match (role, &region_id) {
        (Role::Admin, Some(_)) => {
            return Err(bad(
                "Administratoren arbeiten für alle Regionen: bitte keine Region wählen.",
            ));
        }
        (Role::Admin, None) | (_, Some(_)) => {}
        (_, None) => return Err(bad("Bitte wählen Sie die Region des Kontos.")),
    }
    Ok(Account {
        region_id,
        username,
        display_name,
        role,
        caregiver_id: None,
    })
}

/// A new random password's hash, made off the store's lock (argon2id takes a moment).
async fn new_password() -> Result<(String, String), WebError> {
    tokio::task::spawn_blocking(|| {
        let password = accounts::random_password();
        accounts::hash_password(&password).map(|hash| (password, hash))
    })
    .await
    .map_err(|e| WebError::Internal(format!("password task: {e}")))?
    .map_err(WebError::from)
}

/// Sets a one-time password that must be changed at the next log-in, lifts a lock (the person
/// could not use the new password otherwise) and ends the account's sessions, in the caller's
/// transaction. Like `accounts::reset_password` of the command line, but as the admin and in
/// one transaction with the create of a new account.
fn set_one_time_password(tx: &Connection, who: &Who, id: &str, hash: &str) -> StoreResult<()> {
    let changed = tx.execute(
        "UPDATE accounts SET password_hash = ?2, password_must_change = 1, failed_logins = 0,
                locked_until = NULL, updated_at = ?3, version = version + 1
         WHERE id = ?1 AND archived_at IS NULL",
        params![id, hash, crate::store::now_text()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            kind: "account",
            id: id.to_string(),
        });
    }
    session::end_all(tx, id, Utc::now())?;
    audit_change(tx, who, id)
}

/// The audit line of a change to an account.
fn audit_change(tx: &Connection, who: &Who, id: &str) -> StoreResult<()> {
    let region: Option<String> = tx
        .query_row("SELECT region_id FROM accounts WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    logs::audit(
        tx,
        who,
        Action::Update,
        "accounts",
        Some(id),
        region.as_deref(),
    )
}

/// Creates the account (idempotent by the form's client id) with a one-time password, shown once.
async fn create_account(
    State(app): State<AppState>,
    CsrfForm(user, form): CsrfForm<CreateForm>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin])?;
    let account = account_from(&form)?;
    let client_id = uuid::Uuid::parse_str(&form.client_id)
        .map_err(|_| bad("Das Formular ist beschädigt; bitte neu laden."))?;
    if let Some(region) = &account.region_id
        && !regions(&app).await?.iter().any(|(id, _)| id == region)
    {
        return Err(bad("Diese Region gibt es nicht."));
    }
    let (password, hash) = new_password().await?;
    let who = user.who();
    let username = account.username.clone();
    app.store
        .run(move |conn| {
            let taken: Option<String> = conn
                .query_row(
                    "SELECT id FROM accounts WHERE username = ?1",
                    [&account.username],
                    |r| r.get(0),
                )
                .optional()?;
            if taken.is_some_and(|id| id != client_id.to_string()) {
                return Err(StoreError::Conflict(format!(
                    "Den Benutzernamen „{}“ gibt es schon.",
                    account.username
                )));
            }
            let tx = conn.transaction()?;
            let created = records::create_in(&tx, &who, Some(client_id), &account)?;
            let id = created
                .record
                .get("id")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string();
            set_one_time_password(&tx, &who, &id, &hash)?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(password_page(
        &user,
        &username,
        &password,
        "Das Konto ist angelegt.",
    ))
}

/// Shows a one-time password, once: the hub keeps only its hash.
fn password_page(user: &WebUser, username: &str, password: &str, done: &str) -> Markup {
    page(
        Some(user),
        "Einmal-Passwort",
        html! {
            (notice("ok", done))
            p { "Benutzername: " strong { (username) } }
            p { "Einmal-Passwort:" }
            p class="one-time-password" id="one-time-password" { (password) }
            p {
                "Dieses Passwort wird nur jetzt angezeigt. Geben Sie es der Person auf einem sicheren "
                "Weg weiter (persönlich oder am Telefon, nicht per E-Mail). Bei der nächsten Anmeldung "
                "muss sie ein eigenes Passwort wählen."
            }
            p { a href="/console/accounts" { "Zurück zu den Konten" } }
        },
    )
}

fn outcome_word(outcome: &str) -> &str {
    match outcome {
        "ok" => "angemeldet",
        "wrong_password" => "falsches Passwort",
        "wrong_code" => "falscher Code",
        "locked" => "gesperrt",
        "unknown_user" => "unbekannter Benutzername",
        "logout" => "abgemeldet",
        "expired" => "Sitzung abgelaufen",
        other => other,
    }
}

fn login_events(conn: &Connection, id: &str) -> StoreResult<Vec<(String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT at, outcome FROM login_events WHERE account_id = ?1 ORDER BY seq DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![id, EVENTS_SHOWN], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

async fn account_page(
    State(app): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin])?;
    let who = user.who();
    let (row, events) = app
        .store
        .run(move |conn| {
            let row = read_account(conn, &who, &id)?;
            let events = login_events(conn, &id)?;
            Ok((row, events))
        })
        .await?;
    let action = |what: &str| format!("/console/accounts/{}/{what}", row.id);
    Ok(page(
        Some(&user),
        &format!("Konto {}", row.username),
        html! {
            dl class="facts" {
                dt { "Name" } dd { (row.display_name) }
                dt { "Rolle" } dd { (role_word(&row.role)) }
                dt { "Region" } dd { (row.region.as_deref().unwrap_or("alle Regionen")) }
                dt { "Zweiter Faktor" } dd { (totp_word(&row)) }
                dt { "Gesperrt" } dd { @match (&row.locked_until, is_locked(&row)) {
                    (Some(until), true) => { "bis " (local_time(until, TIME_ZONE)) },
                    _ => "nein",
                } }
                dt { "Passwort" } dd { @if row.must_change { "Einmal-Passwort, muss geändert werden" } @else { "selbst gewählt oder nicht gesetzt" } }
                @if let Some(at) = &row.archived_at {
                    dt { "Archiviert" } dd { (local_time(at, TIME_ZONE)) }
                }
            }
            @if row.archived_at.is_none() {
                h2 { "Aktionen" }
                div class="account-actions" {
                    (button_form(&user, &action("password"), "Einmal-Passwort erzeugen",
                        Some("Das bisherige Passwort gilt dann nicht mehr und alle Sitzungen des Kontos enden. Fortfahren?")))
                    @if is_locked(&row) {
                        (button_form(&user, &action("unlock"), "Sperre aufheben", None))
                    }
                    @if row.totp {
                        (button_form(&user, &action("totp-reset"), "Zweiten Faktor zurücksetzen",
                            Some("Bei der nächsten Anmeldung muss der zweite Faktor neu eingerichtet werden. Fortfahren?")))
                    }
                    @if row.id != user.account_id {
                        (button_form(&user, &action("archive"), "Konto archivieren",
                            Some("Das Konto wirklich archivieren? Die Person kann sich danach nicht mehr anmelden.")))
                    }
                }
            }
            h2 { "Letzte Anmeldeversuche" }
            @if events.is_empty() {
                p { "Noch keine." }
            } @else {
                div class="table-wrap" tabindex="0" role="region" aria-label="Letzte Anmeldeversuche" {
                    table {
                        caption { "Die letzten " (EVENTS_SHOWN) " Ereignisse, neueste zuerst" }
                        thead { tr { th scope="col" { "Zeit" } th scope="col" { "Ergebnis" } } }
                        tbody {
                            @for (at, outcome) in &events {
                                tr { td { (local_time(at, TIME_ZONE)) } td { (outcome_word(outcome)) } }
                            }
                        }
                    }
                }
            }
            p { a href="/console/accounts" { "Zurück zu den Konten" } }
        },
    ))
}

#[derive(Deserialize)]
struct Empty {}

/// The live account's username, or 404.
fn live_username(conn: &Connection, id: &str) -> StoreResult<String> {
    conn.query_row(
        "SELECT username FROM accounts WHERE id = ?1 AND archived_at IS NULL",
        [id],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        kind: "account",
        id: id.to_string(),
    })
}

fn back_to(id: &str) -> Response {
    Redirect::to(&format!("/console/accounts/{id}")).into_response()
}

/// Runs `change` on the live account `id` in one transaction, refused (404) when the account is
/// unknown or archived; returns the account's username.
async fn change_live_account(
    app: &AppState,
    user: &WebUser,
    id: &str,
    change: impl FnOnce(&Connection, &Who, &str) -> StoreResult<()> + Send + 'static,
) -> Result<String, WebError> {
    let (who, id) = (user.who(), id.to_string());
    let username = app
        .store
        .run(move |conn| {
            let tx = conn.transaction()?;
            let username = live_username(&tx, &id)?;
            change(&tx, &who, &id)?;
            tx.commit()?;
            Ok(username)
        })
        .await?;
    Ok(username)
}

async fn reset_password(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, Empty {}): CsrfForm<Empty>,
) -> Result<Markup, WebError> {
    user.require(&[Role::Admin])?;
    let (password, hash) = new_password().await?;
    let username = change_live_account(&app, &user, &id, move |tx, who, id| {
        set_one_time_password(tx, who, id, &hash)
    })
    .await?;
    Ok(password_page(
        &user,
        &username,
        &password,
        "Das Passwort ist zurückgesetzt; alle Sitzungen des Kontos sind beendet.",
    ))
}

async fn unlock(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, Empty {}): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    user.require(&[Role::Admin])?;
    change_live_account(&app, &user, &id, |tx, who, id| {
        tx.execute(
            "UPDATE accounts SET locked_until = NULL, failed_logins = 0 WHERE id = ?1",
            [id],
        )?;
        audit_change(tx, who, id)
    })
    .await?;
    Ok(back_to(&id))
}

/// Clears the second factor: the next log-in sets it up again. The account's sessions end, as
/// the old authenticator may be lost or in other hands.
async fn reset_totp(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, Empty {}): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    user.require(&[Role::Admin])?;
    change_live_account(&app, &user, &id, |tx, who, id| {
        tx.execute(
            "UPDATE accounts SET totp_secret = NULL, totp_confirmed_at = NULL,
                    totp_last_step = NULL
             WHERE id = ?1",
            [id],
        )?;
        session::end_all(tx, id, Utc::now())?;
        audit_change(tx, who, id)
    })
    .await?;
    Ok(back_to(&id))
}

/// Archives the account (the store's cancel) and ends its sessions. An admin cannot archive
/// their own account, so the hub always keeps one administrator.
async fn archive(
    State(app): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(user, Empty {}): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    user.require(&[Role::Admin])?;
    if id == user.account_id {
        return Err(WebError::Conflict(
            "Das eigene Konto kann nicht archiviert werden.".into(),
        ));
    }
    change_live_account(&app, &user, &id, |tx, who, id| {
        records::cancel_in::<Account>(tx, who, id, None)?;
        session::end_all(tx, id, Utc::now())
    })
    .await?;
    Ok(Redirect::to("/console/accounts").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(username: &str, name: &str, role: &str, region: &str) -> CreateForm {
        CreateForm {
            client_id: String::new(),
            username: username.into(),
            display_name: name.into(),
            role: role.into(),
            region_id: region.into(),
        }
    }

    #[test]
    fn forms_become_accounts_or_are_refused() {
        let a = account_from(&form("m.weber", "Maria Weber", "dispatcher", "r1")).unwrap();
        assert_eq!(a.role, Role::Dispatcher);
        assert_eq!(a.region_id.as_deref(), Some("r1"));
        assert!(account_from(&form("chef", "Chef", "admin", "")).is_ok());
        for bad in [
            form("M Weber", "Maria", "dispatcher", "r1"),
            form("mw", "Maria", "dispatcher", "r1"),
            form("m.weber", " ", "dispatcher", "r1"),
            form("m.weber", &"x".repeat(101), "dispatcher", "r1"),
            form("m.weber", "Maria", "caregiver", "r1"),
            form("m.weber", "Maria", "king", "r1"),
            form("m.weber", "Maria", "driver", ""),
            form("m.weber", "Maria", "admin", "r1"),
        ] {
            assert!(account_from(&bad).is_err(), "{}", bad.username);
        }
    }
}
