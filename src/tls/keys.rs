//! Private keys beside the TLS material: readable by their owner only, and never the key of a
//! CA that the agency listener trusts (whoever holds it can issue an agency's certificate).

use std::fs;
use std::path::{Path, PathBuf};

use openssl::pkey::PKey;
use openssl::x509::X509;

use super::TlsError;
use crate::pki;

/// Files larger than this are not key files and are not read.
const MAX_KEY_FILE: u64 = 1 << 20;

/// The files of `dir` (not its subfolders) that hold a PEM private key, sorted.
fn private_key_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut keys: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|path| holds_private_key(path))
        .collect();
    keys.sort();
    keys
}

fn holds_private_key(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_KEY_FILE)
        && fs::read(path).is_ok_and(|bytes| {
            bytes
                .windows(b"PRIVATE KEY-----".len())
                .any(|w| w == b"PRIVATE KEY-----")
        })
}

/// Makes every private key file of `dir`, of `dir/clients` and of `extra` readable by its owner
/// only (0600), with a warning naming each file found looser. A file the node may not change
/// (another owner, a read-only mount) is named in a warning and left as it is.
pub fn tighten(dir: &Path, extra: &[PathBuf]) {
    let mut files = private_key_files(dir);
    files.extend(private_key_files(&dir.join(pki::CLIENTS_DIR)));
    files.extend(extra.iter().filter(|p| holds_private_key(p)).cloned());
    files.sort();
    files.dedup();
    for file in files {
        // `fsperm::tighten` warns, naming the file, when it sets one to 0600.
        if let Err(error) = crate::fsperm::tighten(&file) {
            tracing::warn!(
                file = %file.display(),
                error = %error,
                "private key readable beyond its owner, and it could not be tightened"
            );
        }
    }
}

/// Refuses a `dir` that holds a CA's private key, unless `allowed` (`tls.allow_ca_key`): the
/// development CA's `ca-key.pem`, or any private key file whose public key is that of a CA of
/// `ca.pem`.
pub fn refuse_ca_key(dir: &Path, allowed: bool) -> Result<(), TlsError> {
    if allowed {
        return Ok(());
    }
    match find_ca_key(dir) {
        Some(path) => Err(TlsError::CaKey(path)),
        None => Ok(()),
    }
}

fn find_ca_key(dir: &Path) -> Option<PathBuf> {
    let named = dir.join(pki::CA_KEY);
    if named.exists() {
        return Some(named);
    }
    let cas: Vec<_> = super::read_certs(&dir.join(pki::CA_CERT))
        .unwrap_or_default()
        .iter()
        .filter_map(|der| X509::from_der(der).ok()?.public_key().ok())
        .collect();
    private_key_files(dir).into_iter().find(|path| {
        // An encrypted or unreadable key cannot be compared, and is not taken for a CA's.
        fs::read(path)
            .ok()
            .and_then(|pem| PKey::private_key_from_pem(&pem).ok())
            .is_some_and(|key| cas.iter().any(|ca| ca.public_eq(&key)))
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn dev_pki() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        pki::dev(dir.path(), &[]).unwrap();
        dir
    }

    #[test]
    fn the_development_ca_key_is_found_by_name_or_by_what_it_is() {
        let dir = dev_pki();
        let err = refuse_ca_key(dir.path(), false).unwrap_err().to_string();
        assert!(err.contains("ca-key.pem"), "{err}");
        assert!(err.contains("tls.allow_ca_key"), "{err}");
        assert!(refuse_ca_key(dir.path(), true).is_ok());

        // Renamed, it is still the CA's key.
        fs::rename(dir.path().join("ca-key.pem"), dir.path().join("otra.pem")).unwrap();
        let err = refuse_ca_key(dir.path(), false).unwrap_err().to_string();
        assert!(err.contains("otra.pem"), "{err}");

        // Gone, the server's and the document keys are no CA's.
        fs::remove_file(dir.path().join("otra.pem")).unwrap();
        assert!(refuse_ca_key(dir.path(), false).is_ok());
    }

    #[test]
    fn loose_keys_are_tightened_and_certificates_left_alone() {
        let dir = dev_pki();
        let key = dir.path().join(pki::SERVER_KEY);
        let cert = dir.path().join(pki::SERVER_CERT);
        let elsewhere = tempfile::tempdir().unwrap();
        let extra = elsewhere.path().join("documentos-key.pem");
        fs::copy(dir.path().join(pki::DOC_KEY), &extra).unwrap();
        for file in [&key, &cert, &extra] {
            fs::set_permissions(file, fs::Permissions::from_mode(0o644)).unwrap();
        }
        tighten(dir.path(), std::slice::from_ref(&extra));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&extra), 0o600);
        assert_eq!(mode(&cert), 0o644);
    }
}
