//! WebAuthn (passkeys and security keys) with `webauthn-rs`: registration,
//! assertion with a known user's credentials (second factor), and
//! username-less sign-in with a discoverable credential.
//!
//! The relying party comes from the public URL: its host is the RP id and
//! its origin the only accepted origin. A loopback IP (`http://127.0.0.1:8080`)
//! is not a valid RP id, so there the RP id is `localhost` and the origin
//! `http://localhost:<port>` (open the pages under that name to use passkeys).
//!
//! Ceremony state lives in the database ([`WebauthnCeremony`]), bound to the
//! user and to what it is for (`binding`), found by the hash of a random
//! handle the page carries, for [`CEREMONY_TTL_SECS`], and taken once: any
//! node finishes it, and of two finishes of one ceremony exactly one gets
//! the state. The challenge inside the state is checked by webauthn-rs, so a
//! response to another ceremony's challenge is refused.
//!
//! A use advances the stored signature counter by compare-and-set; a counter
//! that does not advance (other than 0 → 0, which passkeys that keep no
//! counter send) is refused and audited as `webauthn.counter_regressed`, a
//! possibly cloned key.
//!
//! Two kinds of registration: a *passkey* must verify the user (PIN or
//! biometric) and can then sign in without a username; a *security key* is
//! asked to verify the user when it can, so keys that only test presence —
//! U2F-era keys, or FIDO2 keys without a PIN — register too, as second
//! factors only. As second factor every credential of the user is offered;
//! one registered with user verification must verify again.
//!
//! Keys registered through the legacy FIDO U2F JavaScript API of an earlier
//! system are imported with their key handle and public key
//! ([`Passkeys::import_u2f`]); their assertions are scoped to the old U2F
//! AppID, so when the org's policy names it (`webauthn_legacy_appid`) the
//! second factor asks browsers for the WebAuthn `appid` extension (§10.1.1)
//! and webauthn-rs accepts either RP id hash.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use url::{Host, Url};
use webauthn_rs::prelude::{
    AttestationCaList, AttestationCaListBuilder, AttestationFormat, AttestedPasskeyRegistration,
    AuthenticationResult, COSEAlgorithm, COSEEC2Key, COSEKey, COSEKeyType, Credential,
    DiscoverableAuthentication, ECDSACurve, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey, SecurityKeyAuthentication,
    SecurityKeyRegistration, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_proto::UserVerificationPolicy;

use crate::error::{Error, Result};
use crate::ids::{FactorId, OrgId, UserId};
use crate::model::{
    AttestationPolicy, CeremonyKind, Factor, FactorKind, FactorStatus, Outcome, PolicyScope, User,
    UserStatus, WebauthnCeremony, WebauthnCredential,
};
use crate::secret::{Secret, TokenHash};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::principal::{AdminPrincipal, RequestContext};
use crate::services::rate_limit::RateLimiter;

/// How long a ceremony waits for the authenticator's answer.
pub const CEREMONY_TTL_SECS: i64 = 5 * 60;
/// Longest credential name kept.
pub const MAX_NAME_CHARS: usize = 64;
/// The binding of a username-less sign-in ceremony.
pub const LOGIN_BINDING: &str = "login";
/// Username-less ceremonies one client IP may open per minute (a sign-in
/// page opens one per view).
pub const DISCOVERABLE_PER_MINUTE: u32 = 60;

#[derive(Clone)]
pub struct Passkeys {
    deps: Deps,
    webauthn: Option<Arc<Webauthn>>,
    origin: Option<String>,
    discoverable: Arc<RateLimiter>,
}

/// A username-less ceremony opened, or the caller's limit reached.
#[derive(Debug)]
pub enum Discoverable {
    Options(CeremonyOptions),
    Limited { retry_after_secs: u64 },
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Options for `navigator.credentials.create()`/`get()` (webauthn-rs's JSON,
/// binary values in base64url) and the handle of their ceremony.
#[derive(Debug, Clone)]
pub struct CeremonyOptions {
    pub handle: Secret,
    pub options: String,
}

/// The browser's answer to a registration ceremony.
#[derive(Debug, Clone, Copy)]
pub struct RegistrationAnswer<'a> {
    /// The ceremony handle the page carried.
    pub ceremony: &'a str,
    /// The `PublicKeyCredential` from `navigator.credentials.create()`, as JSON.
    pub response: &'a str,
    /// The name the user gives the credential.
    pub name: &'a str,
}

/// A credential just registered.
#[derive(Debug, Clone)]
pub struct Registered {
    pub factor: Factor,
    /// What its registration proved (`hwk` or `swk`, and `user`).
    pub amr: Vec<String>,
}

/// An accepted assertion.
#[derive(Debug, Clone)]
pub struct PasskeyUse {
    pub factor_id: FactorId,
    /// RFC 8176 values it proves: `hwk` (a device-bound key) or `swk` (a
    /// synced, backup-eligible passkey), and `user` (user presence).
    pub amr: Vec<String>,
    /// The authenticator verified the user (PIN or biometric).
    pub user_verified: bool,
}

/// The RP id and origin for a public URL, if it can serve WebAuthn.
pub fn relying_party(public_url: &str) -> Option<(String, Url)> {
    let url = Url::parse(public_url).ok()?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let (rp_id, origin) = match url.host()? {
        Host::Domain(domain) => (
            domain.to_owned(),
            format!("{}://{domain}{port}", url.scheme()),
        ),
        Host::Ipv4(ip) if ip.is_loopback() => {
            ("localhost".to_owned(), format!("http://localhost{port}"))
        }
        Host::Ipv6(ip) if ip.is_loopback() => {
            ("localhost".to_owned(), format!("http://localhost{port}"))
        }
        Host::Ipv4(_) | Host::Ipv6(_) => return None,
    };
    Some((rp_id, Url::parse(&origin).ok()?))
}

impl Passkeys {
    pub(crate) fn new(deps: Deps, public_url: &str) -> Self {
        let built = relying_party(public_url).and_then(|(rp_id, origin)| {
            let webauthn = WebauthnBuilder::new(&rp_id, &origin)
                .and_then(|b| {
                    b.rp_name("Gatehouse")
                        .timeout(Duration::from_secs(CEREMONY_TTL_SECS.unsigned_abs()))
                        .build()
                })
                .inspect_err(|error| {
                    tracing::warn!(%error, rp_id, "passkeys are off: no WebAuthn relying party");
                })
                .ok()?;
            Some((
                Arc::new(webauthn),
                origin.as_str().trim_end_matches('/').to_owned(),
            ))
        });
        let (webauthn, origin) = match built {
            Some((w, o)) => (Some(w), Some(o)),
            None => (None, None),
        };
        Self {
            deps,
            webauthn,
            origin,
            discoverable: Arc::new(RateLimiter::new(DISCOVERABLE_PER_MINUTE)),
        }
    }

    /// Whether this deployment can do WebAuthn (its public URL gives an RP id).
    pub fn available(&self) -> bool {
        self.webauthn.is_some()
    }

    /// The origin browsers must use for passkeys (`https://id.example.com`).
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    fn webauthn(&self) -> Result<&Webauthn> {
        self.webauthn.as_deref().ok_or_else(|| {
            Error::invalid(
                "webauthn",
                "unavailable",
                "passkeys are not available on this deployment",
            )
        })
    }

    /// A user's credentials.
    pub async fn credentials(&self, user: &User) -> Result<Vec<WebauthnCredential>> {
        Ok(self.deps.store.list_webauthn_credentials(user.id).await?)
    }

    /// Starts registering a new passkey or security key for `user`.
    pub async fn begin_registration(
        &self,
        user: &User,
        binding: &str,
        kind: KeyKind,
    ) -> Result<CeremonyOptions> {
        let webauthn = self.webauthn()?;
        let exclude = self
            .credentials(user)
            .await?
            .iter()
            .filter_map(|c| serde_json::from_str::<Passkey>(&c.credential).ok())
            .map(|p| p.cred_id().clone())
            .collect::<Vec<_>>();
        let display = user
            .claims
            .name
            .clone()
            .unwrap_or_else(|| user.username.clone());
        let policy = self
            .deps
            .store
            .get_signon_policy(&PolicyScope::Org(user.org_id))
            .await?
            .unwrap_or_default();
        let cas = if policy.webauthn_attestation == AttestationPolicy::None {
            None
        } else {
            Some(
                attestation_cas(&policy.webauthn_attestation_cas, &policy.webauthn_aaguids)
                    .ok_or_else(|| internal("the org's attestation roots do not parse"))?,
            )
        };
        let (options, state) = match (kind, cas) {
            (KeyKind::Passkey, None) => {
                let (options, state) = webauthn
                    .start_passkey_registration(user.id.0, &user.username, &display, Some(exclude))
                    .map_err(internal)?;
                (options, Registration::Passkey(state))
            }
            (KeyKind::Passkey, Some(cas)) => {
                let (options, state) = webauthn
                    .start_attested_passkey_registration(
                        user.id.0,
                        &user.username,
                        &display,
                        Some(exclude),
                        cas,
                        None,
                    )
                    .map_err(internal)?;
                (options, Registration::Attested(state))
            }
            (KeyKind::SecurityKey, cas) => {
                let (options, state) = webauthn
                    .start_securitykey_registration(
                        user.id.0,
                        &user.username,
                        &display,
                        Some(exclude),
                        cas,
                        None,
                    )
                    .map_err(internal)?;
                (options, Registration::SecurityKey(state))
            }
        };
        let mut options = serde_json::to_value(&options).map_err(internal)?;
        if kind == KeyKind::Passkey {
            prefer_discoverable(&mut options)?;
        }
        if let Some(appid) = &policy.webauthn_legacy_appid {
            exclude_legacy_keys(&mut options, appid)?;
        }
        self.open(
            CeremonyKind::Register,
            Some(user),
            binding,
            to_json(&state)?,
            to_json(&options)?,
        )
        .await
    }

    /// Finishes a registration begun with [`Self::begin_registration`] for
    /// the same user and binding: stores an active `webauthn` factor.
    /// `Invalid` for an unusable, foreign, replayed or expired answer.
    pub async fn finish_registration(
        &self,
        actor: &str,
        ctx: &RequestContext,
        user: &User,
        binding: &str,
        answer: &RegistrationAnswer<'_>,
    ) -> Result<Registered> {
        let RegistrationAnswer {
            ceremony: handle,
            response,
            name,
        } = *answer;
        let webauthn = self.webauthn()?;
        let ceremony = self
            .take(handle, CeremonyKind::Register, Some(user), binding)
            .await?
            .ok_or_else(refused)?;
        let answer: RegisterPublicKeyCredential =
            serde_json::from_str(response).map_err(|_| refused())?;
        let state: Registration = serde_json::from_str(&ceremony.state).map_err(internal)?;
        let finished = match &state {
            Registration::Passkey(state) => webauthn.finish_passkey_registration(&answer, state),
            Registration::Attested(state) => webauthn
                .finish_attested_passkey_registration(&answer, state)
                .map(Passkey::from),
            Registration::SecurityKey(state) => webauthn
                .finish_securitykey_registration(&answer, state)
                .map(|key| Passkey::from(Credential::from(key))),
        };
        let passkey = finished.map_err(|error| {
            tracing::info!(%error, "a WebAuthn registration was refused");
            refused()
        })?;
        self.save(actor, ctx, user, &passkey, name, "registered")
            .await
    }

    /// Registers a key enrolled through the legacy FIDO U2F API of an
    /// earlier system (its key handle and public key, as a U2F registration
    /// response gives them) as a `webauthn` factor of `user`. It signs with
    /// the old AppID's hash, so it works where the org's policy names that
    /// AppID (`webauthn_legacy_appid`).
    pub async fn import_u2f(
        &self,
        principal: &AdminPrincipal,
        ctx: &RequestContext,
        user: UserId,
        key: &U2fRegistration<'_>,
    ) -> Result<Factor> {
        let user = self
            .deps
            .store
            .get_user(user)
            .await?
            .filter(|u| principal.can_access(u.org_id))
            .ok_or(Error::NotFound("user"))?;
        let passkey = Passkey::from(key.credential()?);
        self.save(
            principal.actor(),
            ctx,
            &user,
            &passkey,
            key.name,
            "imported_u2f",
        )
        .await
        .map(|registered| registered.factor)
    }

    /// Stores `passkey` as a new active `webauthn` factor of `user`.
    async fn save(
        &self,
        actor: &str,
        ctx: &RequestContext,
        user: &User,
        passkey: &Passkey,
        name: &str,
        how: &str,
    ) -> Result<Registered> {
        let d = &self.deps;
        let now = d.clock.now_millis();
        let id = FactorId::generate(d.clock.as_ref(), d.rng.as_ref());
        let flags = Flags::of(passkey);
        let name = clean_name(name);
        let factor = Factor {
            id,
            user_id: user.id,
            org_id: user.org_id,
            kind: FactorKind::Webauthn,
            status: FactorStatus::Active,
            sealed_secret: None,
            last_step: None,
            created_at: now,
            activated_at: Some(now),
            last_used_at: None,
            detail: None,
            hint: None,
            answer_hash: None,
        };
        let credential = WebauthnCredential {
            factor_id: id,
            user_id: user.id,
            credential_id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
            name: name.clone(),
            credential: to_json(passkey)?,
            sign_count: flags.counter,
            backup_eligible: flags.backup_eligible,
            backup_state: flags.backup_state,
            created_at: now,
        };
        let audit = d.audit(
            actor,
            ctx,
            "factor.enrolled",
            Target::new("factor", id, Some(user.org_id)),
            json!({
                "user_id": user.id, "type": "webauthn", "name": name,
                "backup_eligible": flags.backup_eligible, "how": how,
            }),
        );
        d.store
            .create_webauthn_factor(&factor, &credential, &audit)
            .await
            .map_err(|e| match e {
                crate::StoreError::Conflict(_) => Error::invalid(
                    "webauthn",
                    "already_registered",
                    "this authenticator is registered already",
                ),
                crate::StoreError::Missing(_) => Error::NotFound("user"),
                other => other.into(),
            })?;
        Ok(Registered {
            factor,
            amr: vec![key_amr(flags.backup_eligible).to_owned(), "user".to_owned()],
        })
    }

    /// Starts an assertion with one of `user`'s credentials; `None` when
    /// the user has none.
    pub async fn begin_authentication(
        &self,
        user: &User,
        binding: &str,
    ) -> Result<Option<CeremonyOptions>> {
        let Some(webauthn) = self.webauthn.as_deref() else {
            return Ok(None);
        };
        let credentials = self
            .credentials(user)
            .await?
            .iter()
            .filter_map(|c| serde_json::from_str::<Passkey>(&c.credential).ok())
            .map(Credential::from)
            .collect::<Vec<_>>();
        if credentials.is_empty() {
            return Ok(None);
        }
        let (options, state) = if credentials.iter().all(|c| c.user_verified) {
            let passkeys: Vec<Passkey> = credentials.into_iter().map(Passkey::from).collect();
            let (options, state) = webauthn
                .start_passkey_authentication(&passkeys)
                .map_err(internal)?;
            (options, Assertion::Verified(state))
        } else {
            let keys: Vec<SecurityKey> = credentials.into_iter().map(SecurityKey::from).collect();
            let (options, state) = webauthn
                .start_securitykey_authentication(&keys)
                .map_err(internal)?;
            (options, Assertion::Preferred(state))
        };
        let mut options = serde_json::to_value(&options).map_err(internal)?;
        let mut state = serde_json::to_value(&state).map_err(internal)?;
        if let Some(appid) = self.legacy_appid(user.org_id).await? {
            with_legacy_appid(&mut options, &mut state, &appid)?;
        }
        self.open(
            CeremonyKind::Authenticate,
            Some(user),
            binding,
            to_json(&state)?,
            to_json(&options)?,
        )
        .await
        .map(Some)
    }

    /// Checks an assertion for a ceremony of [`Self::begin_authentication`]
    /// (same user and binding). `None` when it is refused (audited); the
    /// caller counts the failure.
    pub async fn finish_authentication(
        &self,
        ctx: &RequestContext,
        user: &User,
        binding: &str,
        handle: &str,
        response: &str,
    ) -> Result<Option<PasskeyUse>> {
        let webauthn = self.webauthn()?;
        let Some(ceremony) = self
            .take(handle, CeremonyKind::Authenticate, Some(user), binding)
            .await?
        else {
            return self.refuse(ctx, user, None, "unknown_ceremony").await;
        };
        let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(response) else {
            return self.refuse(ctx, user, None, "malformed").await;
        };
        let Some(credential) = self
            .deps
            .store
            .find_webauthn_credential(&URL_SAFE_NO_PAD.encode(answer.get_credential_id()))
            .await?
            .filter(|c| c.user_id == user.id)
        else {
            return self.refuse(ctx, user, None, "unknown_credential").await;
        };
        let Ok(state) = serde_json::from_str::<Assertion>(&ceremony.state) else {
            return self.refuse(ctx, user, None, "unknown_ceremony").await;
        };
        let finished = match &state {
            Assertion::Verified(state) => webauthn.finish_passkey_authentication(&answer, state),
            Assertion::Preferred(state) => {
                webauthn.finish_securitykey_authentication(&answer, state)
            }
        };
        match finished {
            Ok(result) => self.accept(ctx, user, &credential, &result).await,
            Err(error) => self.refuse_error(ctx, user, &credential, &error).await,
        }
    }

    /// Starts a username-less sign-in (a discoverable credential; the
    /// browser may offer it in the username field's autofill). Anyone may
    /// ask, and each ceremony is a row, so one client IP opens at most
    /// [`DISCOVERABLE_PER_MINUTE`] a minute.
    pub async fn begin_discoverable(&self, ctx: &RequestContext) -> Result<Discoverable> {
        let webauthn = self.webauthn()?;
        let now = self.deps.clock.now_millis();
        if let Err(retry_after_secs) = self.discoverable.admit(ctx.ip.as_deref(), now) {
            return Ok(Discoverable::Limited { retry_after_secs });
        }
        let (options, state) = webauthn
            .start_discoverable_authentication()
            .map_err(internal)?;
        self.open(
            CeremonyKind::Discoverable,
            None,
            LOGIN_BINDING,
            to_json(&state)?,
            to_json(&options)?,
        )
        .await
        .map(Discoverable::Options)
    }

    /// Finishes a username-less sign-in in `org`: the user whose credential
    /// answered, or `None` (refused, audited when a user is known).
    pub async fn finish_discoverable(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        handle: &str,
        response: &str,
    ) -> Result<Option<(User, PasskeyUse)>> {
        let webauthn = self.webauthn()?;
        let Some(ceremony) = self
            .take(handle, CeremonyKind::Discoverable, None, LOGIN_BINDING)
            .await?
        else {
            return Ok(None);
        };
        let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(response) else {
            return Ok(None);
        };
        let Ok((user_handle, credential_id)) =
            webauthn.identify_discoverable_authentication(&answer)
        else {
            return Ok(None);
        };
        let d = &self.deps;
        let Some(credential) = d
            .store
            .find_webauthn_credential(&URL_SAFE_NO_PAD.encode(credential_id))
            .await?
            .filter(|c| c.user_id.0 == user_handle)
        else {
            return Ok(None);
        };
        let Some(user) = d
            .store
            .get_user(credential.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active && u.org_id == org)
        else {
            return Ok(None);
        };
        let passkey: Passkey = serde_json::from_str(&credential.credential).map_err(internal)?;
        let state: DiscoverableAuthentication =
            serde_json::from_str(&ceremony.state).map_err(internal)?;
        let accepted =
            match webauthn.finish_discoverable_authentication_v2(&answer, state, &passkey) {
                Ok(result) => self.accept(ctx, &user, &credential, &result).await?,
                Err(error) => self.refuse_error(ctx, &user, &credential, &error).await?,
            };
        Ok(accepted.map(|used| (user, used)))
    }

    /// The U2F AppID the org's keys registered under elsewhere, if its
    /// policy names one.
    async fn legacy_appid(&self, org: OrgId) -> Result<Option<String>> {
        Ok(self
            .deps
            .store
            .get_signon_policy(&PolicyScope::Org(org))
            .await?
            .and_then(|p| p.webauthn_legacy_appid))
    }

    async fn open(
        &self,
        kind: CeremonyKind,
        user: Option<&User>,
        binding: &str,
        state: String,
        options: String,
    ) -> Result<CeremonyOptions> {
        let d = &self.deps;
        let now = d.clock.now_millis();
        let handle = Secret::new(d.rng.token(32));
        d.store
            .put_webauthn_ceremony(&WebauthnCeremony {
                handle_hash: TokenHash::of(handle.expose()),
                kind,
                user_id: user.map(|u| u.id),
                binding: binding.to_owned(),
                state,
                created_at: now,
                expires_at: now + CEREMONY_TTL_SECS * 1000,
            })
            .await?;
        Ok(CeremonyOptions { handle, options })
    }

    /// Takes (spends) the ceremony behind `handle` when it is live and is of
    /// `kind`, for `user` and `binding`.
    async fn take(
        &self,
        handle: &str,
        kind: CeremonyKind,
        user: Option<&User>,
        binding: &str,
    ) -> Result<Option<WebauthnCeremony>> {
        if handle.is_empty() {
            return Ok(None);
        }
        let d = &self.deps;
        Ok(d.store
            .take_webauthn_ceremony(&TokenHash::of(handle), d.clock.now_millis())
            .await?
            .filter(|c| c.kind == kind && c.user_id == user.map(|u| u.id) && c.binding == binding))
    }

    async fn accept(
        &self,
        ctx: &RequestContext,
        user: &User,
        credential: &WebauthnCredential,
        result: &AuthenticationResult,
    ) -> Result<Option<PasskeyUse>> {
        let d = &self.deps;
        let mut passkey: Passkey =
            serde_json::from_str(&credential.credential).map_err(internal)?;
        passkey.update_credential(result);
        let counter = i64::from(result.counter());
        let target = || Target::new("factor", credential.factor_id, Some(user.org_id));
        let audit = d.audit(
            &format!("user:{}", user.id),
            ctx,
            "factor.used",
            target(),
            json!({ "user_id": user.id, "type": "webauthn", "name": credential.name }),
        );
        if d.store
            .record_webauthn_use(
                credential.factor_id,
                counter,
                result.backup_state(),
                &to_json(&passkey)?,
                d.clock.now_millis(),
                &audit,
            )
            .await?
        {
            let key = key_amr(result.backup_eligible() || credential.backup_eligible);
            return Ok(Some(PasskeyUse {
                factor_id: credential.factor_id,
                amr: vec![key.to_owned(), "user".to_owned()],
                user_verified: result.user_verified(),
            }));
        }
        let mut audit = d.audit(
            &format!("user:{}", user.id),
            ctx,
            "webauthn.counter_regressed",
            target(),
            json!({
                "user_id": user.id, "name": credential.name,
                "stored": credential.sign_count, "presented": counter,
            }),
        );
        audit.outcome = Outcome::Failure;
        d.store.append_audit(&audit).await?;
        Ok(None)
    }

    async fn refuse_error(
        &self,
        ctx: &RequestContext,
        user: &User,
        credential: &WebauthnCredential,
        error: &WebauthnError,
    ) -> Result<Option<PasskeyUse>> {
        tracing::info!(%error, "a WebAuthn assertion was refused");
        if matches!(error, WebauthnError::CredentialPossibleCompromise) {
            let d = &self.deps;
            let mut audit = d.audit(
                &format!("user:{}", user.id),
                ctx,
                "webauthn.counter_regressed",
                Target::new("factor", credential.factor_id, Some(user.org_id)),
                json!({ "user_id": user.id, "name": credential.name, "stored": credential.sign_count }),
            );
            audit.outcome = Outcome::Failure;
            d.store.append_audit(&audit).await?;
            return Ok(None);
        }
        self.refuse(ctx, user, Some(credential), "invalid_assertion")
            .await
    }

    async fn refuse(
        &self,
        ctx: &RequestContext,
        user: &User,
        credential: Option<&WebauthnCredential>,
        reason: &str,
    ) -> Result<Option<PasskeyUse>> {
        let d = &self.deps;
        let target = match credential {
            Some(c) => Target::new("factor", c.factor_id, Some(user.org_id)),
            None => Target::new("user", user.id, Some(user.org_id)),
        };
        let mut audit = d.audit(
            &format!("user:{}", user.id),
            ctx,
            "factor.used",
            target,
            json!({ "user_id": user.id, "type": "webauthn", "reason": reason }),
        );
        audit.outcome = Outcome::Failure;
        d.store.append_audit(&audit).await?;
        Ok(None)
    }
}

/// What a registration asks of the authenticator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A passkey: verifies the user, can sign in without a username.
    Passkey,
    /// A security key: verifies the user if it can (U2F-era keys and keys
    /// without a PIN only test presence); a second factor only.
    SecurityKey,
}

/// The state of a registration ceremony: a plain passkey, one whose
/// attestation is checked (the org's policy), or a security key (attested
/// when the policy asks).
#[derive(serde::Serialize, serde::Deserialize)]
enum Registration {
    Passkey(PasskeyRegistration),
    Attested(AttestedPasskeyRegistration),
    SecurityKey(SecurityKeyRegistration),
}

/// The state of a second-factor assertion: user verification required when
/// every credential of the user was registered with it, else preferred.
#[derive(serde::Serialize, serde::Deserialize)]
enum Assertion {
    Verified(PasskeyAuthentication),
    Preferred(SecurityKeyAuthentication),
}

/// The trusted attestation roots (PEM) × allowed models; `None` when a
/// certificate does not parse. With no models, only the parse is checked.
pub(crate) fn attestation_cas(
    pems: &[String],
    aaguids: &[uuid::Uuid],
) -> Option<AttestationCaList> {
    let mut builder = AttestationCaListBuilder::new();
    let probe = [uuid::Uuid::nil()];
    let models = if aaguids.is_empty() {
        &probe[..]
    } else {
        aaguids
    };
    for pem in pems {
        for aaguid in models {
            builder
                .insert_device_pem(
                    pem.as_bytes(),
                    *aaguid,
                    aaguid.to_string(),
                    Default::default(),
                )
                .ok()?;
        }
    }
    Some(builder.build())
}

/// The counter and backup flags of a passkey.
struct Flags {
    counter: i64,
    backup_eligible: bool,
    backup_state: bool,
}

impl Flags {
    fn of(passkey: &Passkey) -> Self {
        let credential = Credential::from(passkey.clone());
        Self {
            counter: i64::from(credential.counter),
            backup_eligible: credential.backup_eligible,
            backup_state: credential.backup_state,
        }
    }
}

/// A key registered through the legacy FIDO U2F API elsewhere, as its U2F
/// registration response gave it.
#[derive(Debug, Clone, Copy)]
pub struct U2fRegistration<'a> {
    /// The name the user knows it by.
    pub name: &'a str,
    /// The key handle, base64url (the WebAuthn credential id).
    pub key_handle: &'a str,
    /// The user public key: the 65-byte uncompressed P-256 point
    /// (`04 ‖ x ‖ y`), base64url.
    pub public_key: &'a str,
    /// The last signature counter the earlier system saw.
    pub counter: u32,
}

impl U2fRegistration<'_> {
    /// The WebAuthn credential the U2F registration amounts to: an ES256
    /// key, presence only, no attestation kept.
    fn credential(&self) -> Result<Credential> {
        let handle = decode_b64url(self.key_handle)
            .filter(|h| !h.is_empty() && h.len() <= 255)
            .ok_or_else(|| {
                Error::invalid(
                    "key_handle",
                    "invalid",
                    "a key handle in base64url, 1 to 255 bytes",
                )
            })?;
        let point = decode_b64url(self.public_key)
            .filter(|p| p.len() == 65 && p[0] == 0x04)
            .ok_or_else(|| {
                Error::invalid(
                    "public_key",
                    "invalid",
                    "the 65-byte uncompressed P-256 point (04 ‖ x ‖ y), base64url",
                )
            })?;
        let (x, y) = point[1..].split_at(32);
        let key = COSEKey {
            type_: COSEAlgorithm::ES256,
            key: COSEKeyType::EC_EC2(COSEEC2Key {
                curve: ECDSACurve::SECP256R1,
                x: x.to_vec(),
                y: y.to_vec(),
            }),
        };
        // webauthn-rs parses the key only when it verifies a signature:
        // check it now, so a bad import fails here and not at sign-in.
        if !on_p256(&point) {
            return Err(Error::invalid(
                "public_key",
                "invalid",
                "not a point on the P-256 curve",
            ));
        }
        Ok(Credential {
            cred_id: handle,
            cred: key,
            counter: self.counter,
            transports: None,
            user_verified: false,
            backup_eligible: false,
            backup_state: false,
            // U2F keys cannot verify the user: never ask them to.
            registration_policy: UserVerificationPolicy::Discouraged_DO_NOT_USE,
            extensions: Default::default(),
            attestation: Default::default(),
            attestation_format: AttestationFormat::FIDOU2F,
        })
    }
}

/// Asks the authenticator for a discoverable credential where it can make
/// one (`residentKey: "preferred"`), so that the passkey can sign in without
/// a username. webauthn-rs's passkey registration asks for none
/// (`discouraged`), and security keys honour that; its verification does not
/// depend on it. The other kind, a security key, keeps `discouraged`: it
/// serves as second factor only, and keys have few resident slots.
fn prefer_discoverable(options: &mut serde_json::Value) -> Result<()> {
    let Some(selection) = options
        .get_mut("publicKey")
        .and_then(|pk| pk.get_mut("authenticatorSelection"))
        .and_then(serde_json::Value::as_object_mut)
    else {
        return Err(internal("creation options without authenticatorSelection"));
    };
    selection.insert("residentKey".to_owned(), json!("preferred"));
    selection.insert("requireResidentKey".to_owned(), json!(false));
    Ok(())
}

/// Asks the browser to refuse a key already registered under the org's old
/// U2F AppID (the `appidExclude` extension, WebAuthn §10.1.2): an imported
/// U2F key is not registered a second time as a new credential.
fn exclude_legacy_keys(options: &mut serde_json::Value, appid: &str) -> Result<()> {
    set_extension(options, "appidExclude", appid)
}

/// Sets the client extension input `name` in WebAuthn options (webauthn-rs
/// JSON: `{"publicKey": {…, "extensions": {…}}}`).
fn set_extension(options: &mut serde_json::Value, name: &str, value: &str) -> Result<()> {
    let Some(public_key) = options
        .get_mut("publicKey")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return Err(internal("WebAuthn options without publicKey"));
    };
    let extensions = public_key.entry("extensions").or_insert_with(|| json!({}));
    if extensions.is_null() {
        *extensions = json!({});
    }
    let Some(extensions) = extensions.as_object_mut() else {
        return Err(internal("WebAuthn extensions are not an object"));
    };
    extensions.insert(name.to_owned(), json!(value));
    Ok(())
}

/// Asks for the `appid` extension (WebAuthn §10.1.1) in the options sent to
/// the browser, and records the AppID in the ceremony state, where
/// webauthn-rs looks for it: an assertion whose client reports the
/// extension used may then carry the AppID's hash instead of the RP id's.
/// webauthn-rs's high-level API offers no way to ask for the extension, so
/// this edits the two JSON documents; if their shape is not the expected one
/// it refuses rather than silently dropping the AppID.
fn with_legacy_appid(
    options: &mut serde_json::Value,
    state: &mut serde_json::Value,
    appid: &str,
) -> Result<()> {
    set_extension(options, "appid", appid)?;
    // `Assertion` is an externally tagged enum around webauthn-rs's state,
    // which keeps the AuthenticationState under `ast`.
    let Some(ast) = state
        .as_object_mut()
        .and_then(|variant| variant.values_mut().next())
        .and_then(|inner| inner.get_mut("ast"))
        .and_then(serde_json::Value::as_object_mut)
        .filter(|ast| ast.contains_key("appid"))
    else {
        return Err(internal("assertion state without an appid slot"));
    };
    ast.insert("appid".to_owned(), json!(appid));
    Ok(())
}

fn decode_b64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .ok()
}

/// Whether `point` (uncompressed SEC1) is a valid P-256 public key.
fn on_p256(point: &[u8]) -> bool {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ParsedPublicKey};
    ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point).is_ok()
}

/// RFC 8176: `swk` for a key that can leave the device (a synced,
/// backup-eligible passkey), `hwk` for a device-bound one.
fn key_amr(backup_eligible: bool) -> &'static str {
    if backup_eligible { "swk" } else { "hwk" }
}

fn clean_name(name: &str) -> String {
    let name: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    if name.is_empty() {
        "Passkey".to_owned()
    } else {
        name
    }
}

fn refused() -> Error {
    Error::invalid(
        "webauthn",
        "invalid_response",
        "the authenticator's answer was refused, or the ceremony expired",
    )
}

fn internal(error: impl std::fmt::Display) -> Error {
    Error::Internal(format!("webauthn: {error}"))
}

fn to_json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(internal)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn relying_party_from_the_public_url() {
        let (id, origin) = relying_party("https://id.example.com").unwrap();
        assert_eq!(id, "id.example.com");
        assert_eq!(origin.as_str(), "https://id.example.com/");
        let (id, origin) = relying_party("http://127.0.0.1:8080").unwrap();
        assert_eq!(id, "localhost");
        assert_eq!(origin.as_str(), "http://localhost:8080/");
        assert!(relying_party("https://10.0.0.1").is_none());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Key\u{7} "), "Key");
        assert_eq!(clean_name(""), "Passkey");
        assert_eq!(clean_name(&"x".repeat(100)).len(), MAX_NAME_CHARS);
    }
}
