//! Argon2id password hashing in bounded memory. Each hash needs a 19 MiB work area; allocating
//! it per hash on blocking threads leaves glibc's per-thread arenas holding hundreds of MiB
//! after a burst of logins. Here at most `auth.max_concurrent_hashes` hashes run at once, each
//! in a work area taken from a pool and returned after, so the process holds at most that many
//! areas whatever arrives; a few more callers may wait, and beyond them the answer is 429.

use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use super::{Error, Result};

/// Callers that may wait for a hash per one running, before more are refused.
const WAITING_PER_HASH: usize = 4;

/// Salt length in bytes (argon2's recommendation).
const SALT_LEN: usize = 16;

/// Runs Argon2id hashes on the blocking pool with a fixed number of reusable work areas.
pub struct PasswordHashing {
    /// Admission: running plus waiting callers.
    admitted: Arc<Semaphore>,
    /// Hashes running at once.
    running: Arc<Semaphore>,
    /// Work areas not in use right now.
    areas: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl PasswordHashing {
    /// At most `concurrent` hashes at once (at least one).
    pub fn new(concurrent: usize) -> PasswordHashing {
        let concurrent = concurrent.max(1);
        PasswordHashing {
            admitted: Arc::new(Semaphore::new(concurrent * (1 + WAITING_PER_HASH))),
            running: Arc::new(Semaphore::new(concurrent)),
            areas: Arc::default(),
        }
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `password` with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String> {
        let salt: [u8; SALT_LEN] = rand::random();
        self.run(move |area| {
            let params = Params::default();
            let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
            let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
            let area = sized(area, &params);
            argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut area[..]).ok()?;
            let hash = PasswordHash {
                algorithm: ARGON2ID_IDENT,
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params).ok()?,
                salt: Some(Salt::new(&salt).ok()?),
                hash: Some(Output::new(&out).ok()?),
            };
            Some(hash.to_string())
        })
        .await?
        .ok_or(Error::Hashing)
    }

    /// Whether `password` matches the PHC string `hash` (compared in constant time).
    pub async fn verify(&self, password: String, hash: String) -> Result<bool> {
        self.run(move |area| {
            let parsed = PasswordHash::new(&hash).ok()?;
            let params = Params::try_from(&parsed).ok()?;
            let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
            let version = parsed.version.map_or(Ok(Version::default()), Version::try_from).ok()?;
            let (salt, expected) = (parsed.salt?, parsed.hash?);
            let mut out = vec![0u8; expected.len()];
            let area = sized(area, &params);
            Argon2::new(algorithm, version, params)
                .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut area[..])
                .ok()?;
            Some(Output::new(&out).ok()? == expected)
        })
        .await
        .map(|matched| matched.unwrap_or(false))
    }

    /// Runs `work` with a work area once a hash slot is free; `RateLimited` when too many
    /// callers already wait.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static) -> Result<T> {
        let _admitted = self.admitted.clone().try_acquire_owned().map_err(|_| Error::RateLimited { retry_after_secs: 1 })?;
        let _running = self.running.clone().acquire_owned().await.map_err(|_| Error::Hashing)?;
        let areas = Arc::clone(&self.areas);
        tokio::task::spawn_blocking(move || {
            let mut area = areas.lock().expect("work areas").pop().unwrap_or_default();
            let result = work(&mut area);
            areas.lock().expect("work areas").push(area);
            result
        })
        .await
        .map_err(|_| Error::Hashing)
    }
}

/// `area` grown (once) to the blocks `params` needs.
fn sized<'a>(area: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    let blocks = params.block_count();
    if area.len() < blocks {
        area.resize(blocks, Block::default());
    }
    &mut area[..blocks]
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    #[tokio::test]
    async fn hashes_are_standard_argon2id_and_verify() {
        let hashing = PasswordHashing::new(1);
        let hash = hashing.hash("correct horse".to_owned()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        // The argon2 crate's own verifier agrees, so stored hashes stay portable.
        assert!(Argon2::default().verify_password(b"correct horse", hash.as_str()).is_ok());
        assert!(hashing.verify("correct horse".to_owned(), hash.clone()).await.unwrap());
        assert!(!hashing.verify("wrong horse".to_owned(), hash).await.unwrap());
        assert!(!hashing.verify("x".to_owned(), "not a hash".to_owned()).await.unwrap());
    }

    #[tokio::test]
    async fn work_areas_are_reused_not_reallocated() {
        let hashing = PasswordHashing::new(2);
        for _ in 0..6 {
            hashing.hash("correct horse".to_owned()).await.unwrap();
        }
        let areas = hashing.areas.lock().unwrap();
        assert_eq!(areas.len(), 1, "one at a time needs one area");
        assert_eq!(areas[0].len(), Params::default().block_count());
    }

    #[tokio::test]
    async fn callers_beyond_the_queue_are_refused_not_queued() {
        let hashing = Arc::new(PasswordHashing::new(1));
        let calls: Vec<_> = (0..(2 + WAITING_PER_HASH))
            .map(|_| {
                let hashing = Arc::clone(&hashing);
                tokio::spawn(async move { hashing.hash("correct horse".to_owned()).await })
            })
            .collect();
        let mut refused = 0;
        for call in calls {
            if let Err(Error::RateLimited { .. }) = call.await.unwrap() {
                refused += 1;
            }
        }
        assert!(refused >= 1, "{} callers for one slot and {WAITING_PER_HASH} waiting places", 2 + WAITING_PER_HASH);
    }
}
