//! Mutual TLS for kiosks on the one listener staff use too.
//!
//! The TLS handshake asks for a client certificate but does not require one (staff and
//! enrolling kiosks have none) and checks only that the client holds the key of the certificate
//! it shows. Whether that certificate may speak for a device is decided per request by
//! [`authenticate`], against the store: a region's CA made a minute ago counts at once, a
//! revocation counts on connections already open, and every refusal is a problem document that
//! says why instead of a bare TLS alert.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use super::{DeviceIdentity, DeviceResult, Refusal, ca, refuse, stamp};
use crate::store::StoreError;

/// Asks every client for a certificate, accepts none or any readable one, and checks the
/// handshake signature with it (proof of possession of the key).
#[derive(Debug)]
pub struct OptionalClientCert {
    algorithms: WebPkiSupportedAlgorithms,
}

/// The verifier for the hub's rustls server configuration.
pub fn client_verifier() -> Arc<dyn ClientCertVerifier> {
    let provider: Arc<CryptoProvider> = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    Arc::new(OptionalClientCert {
        algorithms: provider.signature_verification_algorithms,
    })
}

impl ClientCertVerifier for OptionalClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // CAs come and go with regions; clients send their one certificate regardless.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Trust is decided per request against the store (see the module comment); here only
        // that it is a certificate at all.
        x509_parser::parse_x509_certificate(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The device behind a client certificate (DER), or why it may not speak for one. Checked on
/// every request: the certificate must be one the hub issued, signed by the device's region CA,
/// not revoked, not expired, and its device active.
pub fn authenticate(
    conn: &Connection,
    der: &[u8],
    now: DateTime<Utc>,
) -> DeviceResult<DeviceIdentity> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return refuse(
            Refusal::UnknownCertificate,
            "the client certificate cannot be read",
        );
    };
    let fingerprint = ca::fingerprint(der);
    type Row = (
        String,
        String,
        String,
        Option<String>,
        String,
        String,
        String,
    );
    let row: Option<Row> = conn
        .query_row(
            "SELECT c.device_id, c.region_id, c.not_after, c.revoked_at,
                    d.region_id, d.village_id, d.status
             FROM device_certificates c JOIN devices d ON d.id = c.device_id
             WHERE c.fingerprint = ?1",
            [&fingerprint],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()
        .map_err(StoreError::from)?;
    let cas = ca::all_cas(conn)?;
    let issuer_region = cas
        .iter()
        .find(|(_, ca_der)| ca::issued_by(&cert, ca_der))
        .map(|(region, _)| region.clone());
    let Some((device_id, cert_region, not_after, revoked_at, device_region, village_id, status)) =
        row
    else {
        let Some(issuer_region) = issuer_region else {
            return refuse(
                Refusal::UnknownCertificate,
                "the certificate was not issued by a device CA of this hub; enrol with a code",
            );
        };
        // Signed by a CA of this hub but never issued: a certificate naming a device of
        // another region is the clearer refusal.
        if let Some(named) = ca::common_name(&cert) {
            let named_region: Option<String> = conn
                .query_row(
                    "SELECT region_id FROM devices WHERE id = ?1",
                    [&named],
                    |r| r.get(0),
                )
                .optional()
                .map_err(StoreError::from)?;
            if named_region.is_some_and(|r| r != issuer_region) {
                return refuse(
                    Refusal::OtherRegion,
                    "the certificate was signed by the device CA of another region than the device's",
                );
            }
        }
        return refuse(
            Refusal::UnknownCertificate,
            "this hub has no record of issuing the certificate",
        );
    };
    if issuer_region.as_deref() != Some(cert_region.as_str()) || cert_region != device_region {
        return refuse(
            Refusal::OtherRegion,
            "the certificate was signed by the device CA of another region than the device's",
        );
    }
    if ca::common_name(&cert).as_deref() != Some(device_id.as_str()) {
        return refuse(
            Refusal::UnknownCertificate,
            "the certificate names another device",
        );
    }
    if revoked_at.is_some() || status == "revoked" {
        return refuse(
            Refusal::DeviceRevoked,
            "this device or certificate was revoked; an admin can issue a new enrolment code",
        );
    }
    if not_after <= stamp(now) || cert.validity().not_before.timestamp() > now.timestamp() {
        return refuse(
            Refusal::CertificateExpired,
            format!("the certificate is valid until {not_after} only; enrol again with a new code"),
        );
    }
    if status != "active" {
        return refuse(
            Refusal::NotEnrolled,
            "the device waits to be enrolled with its new code",
        );
    }
    Ok(DeviceIdentity {
        device_id,
        region_id: device_region,
        village_id,
    })
}
