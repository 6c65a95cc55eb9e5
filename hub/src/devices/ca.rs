//! The device CA of each region: made with rcgen on first need, kept in `device_cas`, and used
//! to sign the certificate signing requests of the region's kiosks.

use chrono::{DateTime, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;

use crate::store::{StoreError, StoreResult};

/// How long a device certificate is valid; kiosks rotate well before.
pub const CERT_DAYS: i64 = 90;
/// How long a region's device CA is valid.
const CA_YEARS: i64 = 20;
/// The longest CSR (PEM) the hub reads; a real one is well under 2 KB.
pub const MAX_CSR_BYTES: usize = 16 * 1024;

/// A region's device CA as stored.
pub struct RegionCa {
    pub region_id: String,
    pub cert_pem: String,
    key_pem: String,
}

/// A certificate the hub just signed.
pub struct Signed {
    pub pem: String,
    pub fingerprint: String,
    pub serial: String,
    pub not_after: DateTime<Utc>,
}

/// The device CA of `region_id`, made and stored now if the region has none yet. Runs inside
/// the caller's write transaction, so two enrolments cannot make two CAs for one region.
pub fn ca_of(tx: &Connection, region_id: &str, now: DateTime<Utc>) -> StoreResult<RegionCa> {
    let stored: Option<(String, String)> = tx
        .query_row(
            "SELECT cert_pem, key_pem FROM device_cas WHERE region_id = ?1",
            [region_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((cert_pem, key_pem)) = stored {
        return Ok(RegionCa {
            region_id: region_id.to_string(),
            cert_pem,
            key_pem,
        });
    }
    let key = KeyPair::generate().map_err(rcgen_error)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Dorfpunkt");
    params.distinguished_name.push(
        DnType::CommonName,
        format!("Dorfpunkt device CA {region_id}"),
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(random_serial());
    params.not_before = to_time(now - Duration::hours(1))?;
    params.not_after = to_time(now + Duration::days(365 * CA_YEARS))?;
    let cert = params.self_signed(&key).map_err(rcgen_error)?;
    let ca = RegionCa {
        region_id: region_id.to_string(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    };
    tx.execute(
        "INSERT INTO device_cas (region_id, cert_pem, key_pem, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            ca.region_id,
            ca.cert_pem,
            ca.key_pem,
            crate::store::now_text()
        ],
    )?;
    Ok(ca)
}

/// Every stored device CA: (region, certificate DER).
pub fn all_cas(conn: &Connection) -> StoreResult<Vec<(String, Vec<u8>)>> {
    let mut stmt = conn.prepare_cached("SELECT region_id, cert_pem FROM device_cas")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(region, pem)| Ok((region, pem_to_der(&pem)?)))
        .collect()
}

/// Reads a PEM certificate signing request and checks its signature (proof that the sender holds
/// the private key). The reason is fit to show to the kiosk.
pub fn parse_csr(pem: &str) -> Result<CertificateSigningRequestParams, String> {
    if pem.len() > MAX_CSR_BYTES {
        return Err(format!("longer than {MAX_CSR_BYTES} bytes"));
    }
    if !pem.contains("-----BEGIN CERTIFICATE REQUEST-----") {
        return Err("is not a PEM certificate request (BEGIN CERTIFICATE REQUEST)".into());
    }
    CertificateSigningRequestParams::from_pem(pem).map_err(|e| match e {
        rcgen::Error::InvalidCertificationRequestSignature => {
            "its signature does not match its public key".to_string()
        }
        rcgen::Error::UnsupportedExtension => "asks for an extension the hub does not sign".into(),
        rcgen::Error::UnsupportedSignatureAlgorithm => {
            "uses a key type the hub does not sign (use ECDSA P-256 or Ed25519)".into()
        }
        _ => "cannot be read as a certificate request".into(),
    })
}

/// Signs `csr` as the client certificate of `device_id` with the region's CA: the subject is the
/// device id, the only use is TLS client authentication, valid [`CERT_DAYS`] days. What the CSR
/// asks for besides its public key is ignored.
pub fn sign(
    ca: &RegionCa,
    csr: CertificateSigningRequestParams,
    device_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Signed> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Dorfpunkt");
    params
        .distinguished_name
        .push(DnType::CommonName, device_id);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    let serial = random_serial();
    params.serial_number = Some(serial.clone());
    // A few minutes back, for kiosks whose clock runs a little behind the hub's.
    params.not_before = to_time(now - Duration::minutes(10))?;
    let not_after = now + Duration::days(CERT_DAYS);
    params.not_after = to_time(not_after)?;
    let key = KeyPair::from_pem(&ca.key_pem).map_err(rcgen_error)?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, key).map_err(rcgen_error)?;
    let cert = CertificateSigningRequestParams {
        params,
        public_key: csr.public_key,
    }
    .signed_by(&issuer)
    .map_err(rcgen_error)?;
    Ok(Signed {
        pem: cert.pem(),
        fingerprint: fingerprint(cert.der()),
        serial: hex::encode(serial.as_ref()),
        not_after: DateTime::from_timestamp(not_after.timestamp(), 0).unwrap_or(not_after),
    })
}

/// SHA-256 of a DER certificate, lowercase hex: how the store knows a certificate.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// Whether `cert` was signed by the CA certificate `ca_der` (names and signature).
pub fn issued_by(cert: &X509Certificate<'_>, ca_der: &[u8]) -> bool {
    let Ok((_, ca)) = x509_parser::parse_x509_certificate(ca_der) else {
        return false;
    };
    cert.issuer() == ca.subject() && cert.verify_signature(Some(ca.public_key())).is_ok()
}

/// The common name of a certificate's subject (the device id for device certificates).
pub fn common_name(cert: &X509Certificate<'_>) -> Option<String> {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

fn pem_to_der(pem: &str) -> StoreResult<Vec<u8>> {
    let mut reader = std::io::BufReader::new(pem.as_bytes());
    rustls_pemfile::certs(&mut reader)
        .next()
        .and_then(Result::ok)
        .map(|der| der.as_ref().to_vec())
        .ok_or_else(|| StoreError::Internal("a stored device CA certificate is unreadable".into()))
}

fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    // Positive and of full length: DER integers are signed, and a leading zero byte would be cut.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

fn to_time(at: DateTime<Utc>) -> StoreResult<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(at.timestamp())
        .map_err(|e| StoreError::Internal(format!("certificate time: {e}")))
}

fn rcgen_error(e: rcgen::Error) -> StoreError {
    StoreError::Internal(format!("device certificate: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr() -> String {
        let key = KeyPair::generate().unwrap();
        CertificateParams::default()
            .serialize_request(&key)
            .unwrap()
            .pem()
            .unwrap()
    }

    #[test]
    fn a_signed_certificate_names_the_device_and_chains_to_the_ca() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE device_cas (region_id TEXT PRIMARY KEY, cert_pem TEXT, key_pem TEXT, created_at TEXT)",
        )
        .unwrap();
        let now = Utc::now();
        let ca = ca_of(&conn, "r1", now).unwrap();
        let again = ca_of(&conn, "r1", now).unwrap();
        assert_eq!(ca.cert_pem, again.cert_pem, "one CA per region");
        let signed = sign(&ca, parse_csr(&csr()).unwrap(), "device-1", now).unwrap();
        let der = pem_to_der(&signed.pem).unwrap();
        assert_eq!(signed.fingerprint, fingerprint(&der));
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert_eq!(common_name(&cert).as_deref(), Some("device-1"));
        let cas = all_cas(&conn).unwrap();
        assert!(issued_by(&cert, &cas[0].1));
        let other = ca_of(&conn, "r2", now).unwrap();
        assert!(!issued_by(&cert, &pem_to_der(&other.cert_pem).unwrap()));
        assert!(!cert.is_ca());
        assert!(
            cert.extended_key_usage()
                .unwrap()
                .unwrap()
                .value
                .client_auth
        );
    }

    #[test]
    fn broken_requests_are_refused_with_a_reason() {
        assert!(parse_csr("hello").unwrap_err().contains("PEM"));
        let mut pem = csr();
        // Flip a character in the middle of the base64 body: parse or signature fails.
        let mid = pem.len() / 2;
        let flipped = if &pem[mid..mid + 1] == "A" { "B" } else { "A" };
        pem.replace_range(mid..mid + 1, flipped);
        assert!(parse_csr(&pem).is_err());
    }
}
