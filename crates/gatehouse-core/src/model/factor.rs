//! Authentication factors beyond the password, the half-signed-in state
//! between the password and the second factor, and sign-on policies.
//!
//! Secrets never appear in these types in the clear: a TOTP secret is sealed
//! with the master key, recovery codes, challenge handles, e-mailed codes and
//! remembered-device tokens are [`TokenHash`]es.

use crate::clock::Millis;
use crate::ids::{FactorId, GroupId, OrgId, ServiceProviderId, SessionId, UserId};
use crate::secret::TokenHash;

/// The kinds of factor a user can enrol or present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    /// RFC 6238 time-based one-time password (authenticator app).
    Totp,
    /// A single-use recovery code.
    RecoveryCode,
    /// A one-time code sent to the user's e-mail address.
    Email,
    /// A WebAuthn credential: a passkey or a security key.
    Webauthn,
    /// A knowledge question the user answered at enrolment (opt-in).
    Question,
    /// A one-time code sent to the user's phone by text or voice call
    /// through the SMS webhook (opt-in).
    Phone,
}

impl FactorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
            Self::Email => "email",
            Self::Webauthn => "webauthn",
            Self::Question => "question",
            Self::Phone => "phone",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "totp" => Some(Self::Totp),
            "recovery_code" => Some(Self::RecoveryCode),
            "email" => Some(Self::Email),
            "webauthn" => Some(Self::Webauthn),
            "question" => Some(Self::Question),
            "phone" => Some(Self::Phone),
            _ => None,
        }
    }

    /// RFC 8176 `amr` value for a sign-in with this factor.
    pub fn amr(self) -> &'static str {
        match self {
            Self::Totp => "otp",
            // A recovery code is a one-time code the user keeps.
            Self::RecoveryCode => "otp",
            Self::Email => "otp",
            // Proof of possession of a key; `services::passkeys` says `swk`
            // for a synced (backup-eligible) passkey.
            Self::Webauthn => "hwk",
            // RFC 8176 §2: knowledge-based authentication.
            Self::Question => "kba",
            // A code by text message; `tel` when it came by a voice call
            // ([`PhoneChannel::amr`]).
            Self::Phone => "sms",
        }
    }
}

/// Where an enrolled factor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorStatus {
    /// Enrolled, waiting for its first code.
    Pending,
    /// Usable for sign-in.
    Active,
}

impl FactorStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            _ => None,
        }
    }
}

/// Wrong tries allowed against one code sent to a phone; then it is void.
pub const MAX_CODE_ATTEMPTS: u32 = 5;

/// How a phone factor's codes reach the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneChannel {
    /// A text message.
    Sms,
    /// A voice call reading the code.
    Voice,
}

impl PhoneChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Voice => "voice",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sms" => Some(Self::Sms),
            "voice" => Some(Self::Voice),
            _ => None,
        }
    }

    /// RFC 8176 §2: `sms` for a text message, `tel` for a voice call.
    pub fn amr(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Voice => "tel",
        }
    }
}

/// A stored factor (TOTP, WebAuthn, knowledge question, phone; recovery
/// codes and e-mail are not rows here).
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub id: FactorId,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub kind: FactorKind,
    pub status: FactorStatus,
    /// The TOTP secret, or the phone number, sealed with the master key
    /// (`MasterKey::seal_to_string`).
    pub sealed_secret: Option<String>,
    /// A question factor's question id, or a phone factor's channel (`sms`, `voice`).
    pub detail: Option<String>,
    /// A phone factor's masked number (`+•••••••1234`), for lists.
    pub hint: Option<String>,
    /// A question factor's argon2id hash (PHC string) of the normalised answer.
    pub answer_hash: Option<String>,
    /// The last accepted TOTP time step; a code of that step or earlier is refused.
    pub last_step: Option<i64>,
    pub created_at: Millis,
    pub activated_at: Option<Millis>,
    pub last_used_at: Option<Millis>,
}

impl Factor {
    /// Associated data binding a sealed secret to its factor.
    pub fn seal_aad(id: FactorId) -> Vec<u8> {
        format!("factor:{id}").into_bytes()
    }
}

/// The public-key credential behind a `webauthn` factor.
#[derive(Debug, Clone, PartialEq)]
pub struct WebauthnCredential {
    pub factor_id: FactorId,
    pub user_id: UserId,
    /// The credential id, base64url without padding; unique across users.
    pub credential_id: String,
    /// The name the user gave it ("YubiKey", "Laptop").
    pub name: String,
    /// webauthn-rs's `Passkey` as JSON (public key, counter, flags; nothing secret).
    pub credential: String,
    /// The highest signature counter seen; an assertion must exceed it (or both are 0).
    pub sign_count: i64,
    /// The credential may be synced to other devices (a synced passkey).
    pub backup_eligible: bool,
    /// The credential is synced right now.
    pub backup_state: bool,
    pub created_at: Millis,
}

/// What a WebAuthn ceremony is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Registering a new credential for a known user.
    Register,
    /// An assertion with one of a known user's credentials.
    Authenticate,
    /// An assertion with a discoverable credential: the user is not known yet.
    Discoverable,
}

impl CeremonyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Authenticate => "authenticate",
            Self::Discoverable => "discoverable",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "register" => Some(Self::Register),
            "authenticate" => Some(Self::Authenticate),
            "discoverable" => Some(Self::Discoverable),
            _ => None,
        }
    }
}

/// A WebAuthn ceremony between the options sent to the browser and the
/// authenticator's answer. Lives in the database (any node finishes it),
/// found by the hash of a random handle the page carries; single use.
#[derive(Debug, Clone, PartialEq)]
pub struct WebauthnCeremony {
    pub handle_hash: TokenHash,
    pub kind: CeremonyKind,
    /// The user it is for; `None` for a discoverable (username-less) sign-in.
    pub user_id: Option<UserId>,
    /// Whose ceremony it is: `mfa:<challenge hash>`, `session:<id>` or `login`.
    pub binding: String,
    /// webauthn-rs's ceremony state as JSON (holds the challenge).
    pub state: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// A sign-in link sent by e-mail. Only hashes are stored: of the token in
/// the link and of the secret in the requesting browser's cookie.
#[derive(Debug, Clone, PartialEq)]
pub struct MagicLink {
    pub token_hash: TokenHash,
    pub user_id: UserId,
    /// The browser that asked for the link; the link works only there.
    pub browser_hash: TokenHash,
    /// The pending authorization request the sign-in continues, if any.
    pub request: Option<String>,
    /// The local path the sign-in continues to, if any.
    pub return_to: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
}

/// A sign-in that passed its password and waits for the second factor (or a
/// step-up of an existing session). Lives in the database so that any node
/// continues it; found by the hash of a short-lived cookie.
#[derive(Debug, Clone, PartialEq)]
pub struct MfaChallenge {
    pub handle_hash: TokenHash,
    pub user_id: UserId,
    pub org_id: OrgId,
    /// The session to raise to multifactor (step-up); `None` starts a new one.
    pub session_id: Option<SessionId>,
    /// What the user proved so far (`["pwd"]`).
    pub amr: Vec<String>,
    /// The factor kinds the policy allows here.
    pub allowed: Vec<FactorKind>,
    /// A pending TOTP factor being enrolled during this sign-in.
    pub enrol_factor_id: Option<FactorId>,
    /// Days a "remember this device" tick lasts; 0: not offered.
    pub remember_days: u32,
    pub email_code_hash: Option<TokenHash>,
    pub email_expires_at: Option<Millis>,
    /// Wrong codes so far.
    pub attempts: u32,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub completed_at: Option<Millis>,
}

/// When a second factor is required.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SecondFactorRule {
    /// Never (the password is enough; a user with a factor may still step up).
    #[default]
    Never,
    /// At every sign-in (unless the device is remembered).
    Always,
    /// When the request comes from outside the policy's network zones.
    OutsideZones,
    /// For members of the policy's groups.
    Groups,
    /// When the browser is not a *known device* of the account: one that
    /// completed a sign-in to this account before (the password alone where
    /// no second factor was asked, else the password and the second factor
    /// or its enrolment), proven by the `gatehouse_known_device` cookie whose
    /// hash the brute-force throttle stores for this user, and whose record
    /// has not expired (180 days after that sign-in by default). A browser
    /// that passed only the password stays new.
    NewDevice,
}

/// A sign-on policy of an org or of an OAuth client.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SignOnPolicy {
    /// When a second factor is required.
    pub second_factor: SecondFactorRule,
    /// Trusted networks (CIDR, e.g. `10.0.0.0/8`) for `outside_zones`.
    pub network_zones: Vec<String>,
    /// The groups whose members need a second factor, for `groups`.
    #[schema(value_type = Vec<String>)]
    pub groups: Vec<GroupId>,
    /// Factor kinds accepted as second factor (`totp`, `recovery_code`,
    /// `email`, `webauthn`, `question`, `phone`); empty: `totp`,
    /// `recovery_code` and `webauthn` (`email`, `question` and `phone` are
    /// opt-in).
    #[schema(value_type = Vec<String>)]
    pub allowed_factors: Vec<FactorKind>,
    /// Offer "remember this device" for this many days; 0 turns it off.
    pub remember_device_days: u32,
    /// A user without a factor who needs one enrols TOTP at sign-in; when
    /// false such a user is refused instead.
    pub enrol_at_sign_in: bool,
    /// The sign-in page offers a link by e-mail instead of the password
    /// (org policies only; a first factor, `amr: ["otp"]`).
    pub magic_link: bool,
    /// Attestation asked of passkeys and security keys at registration
    /// (org policies only): `none`, or `indirect`/`direct` (the key must
    /// prove its model with a certificate chain to one of
    /// `webauthn_attestation_cas`, and be one of `webauthn_aaguids`).
    pub webauthn_attestation: AttestationPolicy,
    /// Trusted attestation root certificates (PEM).
    pub webauthn_attestation_cas: Vec<String>,
    /// Allowed authenticator models (AAGUIDs).
    #[schema(value_type = Vec<String>)]
    pub webauthn_aaguids: Vec<uuid::Uuid>,
    /// The FIDO U2F AppID (`https://login.example.com`) under which an
    /// earlier system registered the org's security keys (org policies
    /// only). Imported U2F keys sign with its hash; the second factor asks
    /// browsers for the WebAuthn `appid` extension with it.
    pub webauthn_legacy_appid: Option<String>,
    /// A session whose last sign-in (`auth_time`) is older than this many
    /// minutes must sign in again (the password, or whatever first factor)
    /// before it is used for an app under this policy; 0: never. An org
    /// policy applies to every app of the org; the smaller non-zero wins.
    pub reauthenticate_after_minutes: u32,
    /// Absolute session lifetime in minutes; 0: the server's. An org policy
    /// sets it when the session starts (never longer than the server's);
    /// an app policy makes an older session sign in again for that app.
    pub session_lifetime_minutes: u32,
    /// Idle timeout in minutes; 0: the server's. As `session_lifetime_minutes`.
    pub session_idle_minutes: u32,
}

/// How much a WebAuthn authenticator must prove about itself at registration.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AttestationPolicy {
    /// No attestation asked for; any authenticator.
    #[default]
    None,
    /// Attestation required (webauthn-rs asks with `direct` conveyance; a
    /// client that anonymises it is refused), as `direct`.
    Indirect,
    /// Attestation required and verified against the trusted roots and models.
    Direct,
}

impl Default for SignOnPolicy {
    fn default() -> Self {
        Self {
            second_factor: SecondFactorRule::Never,
            network_zones: Vec::new(),
            groups: Vec::new(),
            allowed_factors: Vec::new(),
            remember_device_days: 0,
            enrol_at_sign_in: true,
            magic_link: false,
            webauthn_attestation: AttestationPolicy::None,
            webauthn_attestation_cas: Vec::new(),
            webauthn_aaguids: Vec::new(),
            webauthn_legacy_appid: None,
            reauthenticate_after_minutes: 0,
            session_lifetime_minutes: 0,
            session_idle_minutes: 0,
        }
    }
}

/// Whose policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyScope {
    Org(OrgId),
    Client(String),
    /// A SAML service provider: applies like a client's.
    ServiceProvider(ServiceProviderId),
}

impl PolicyScope {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Org(_) => "org",
            Self::Client(_) => "client",
            Self::ServiceProvider(_) => "service_provider",
        }
    }

    pub fn id(&self) -> String {
        match self {
            Self::Org(org) => org.to_string(),
            Self::Client(client) => client.clone(),
            Self::ServiceProvider(sp) => sp.to_string(),
        }
    }
}
