//! Sign-on policies: when a sign-in needs a second factor, which factors
//! count, how long "remember this device" lasts, and how old or idle a
//! session may be before it must sign in again — per org and per app (an
//! OAuth client or a SAML service provider). Where both exist the stricter
//! wins: a second factor is required when either requires it, the allowed
//! factors are those both allow, and the shorter remember-device period,
//! re-authentication interval, session lifetime and idle timeout apply.

use std::net::IpAddr;

use serde_json::json;

use crate::clock::Millis;
use crate::error::{Error, FieldError, Result};
use crate::ids::OrgId;
use crate::model::{FactorKind, PolicyScope, SecondFactorRule, SignOnPolicy, SsoSession, User};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::principal::{AdminPrincipal, RequestContext};

/// The factor kinds a second step accepts unless a policy lists its own.
/// E-mail codes, phone codes and the knowledge question are opt-in: a
/// policy must list `email`, `phone` or `question`.
pub const DEFAULT_FACTORS: [FactorKind; 3] = [
    FactorKind::Totp,
    FactorKind::RecoveryCode,
    FactorKind::Webauthn,
];

/// Longest "remember this device" period.
const MAX_REMEMBER_DAYS: u32 = 365;
/// Longest re-authentication interval: 90 days.
const MAX_REAUTH_MINUTES: u32 = 90 * 24 * 60;
/// Longest session lifetime: 90 days.
const MAX_LIFETIME_MINUTES: u32 = 90 * 24 * 60;
/// Longest idle timeout: 30 days.
const MAX_IDLE_MINUTES: u32 = 30 * 24 * 60;

/// How old and idle a session may be for one app, from the org's and the
/// app's policies (the smallest non-zero value of each); `None`: no limit
/// beyond the server's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionLimits {
    /// The last sign-in (`auth_time`) may be at most this old.
    pub reauthenticate_after_ms: Option<Millis>,
    /// The session (`created_at`) may be at most this old.
    pub lifetime_ms: Option<Millis>,
    /// The session may have been idle (`last_seen_at`) at most this long.
    pub idle_ms: Option<Millis>,
}

impl SessionLimits {
    /// Whether `session` must sign in again before it is used at `now`.
    pub fn needs_sign_in(&self, session: &SsoSession, now: Millis) -> bool {
        let over = |limit: Option<Millis>, since: Millis| {
            limit.is_some_and(|limit| now.saturating_sub(since) > limit)
        };
        over(self.reauthenticate_after_ms, session.auth_time)
            || over(self.lifetime_ms, session.created_at)
            || over(self.idle_ms, session.last_seen_at)
    }

    fn tighten(&mut self, policy: &SignOnPolicy) {
        fn min(limit: &mut Option<Millis>, minutes: u32) {
            if minutes > 0 {
                let ms = i64::from(minutes) * 60_000;
                *limit = Some(limit.map_or(ms, |l| l.min(ms)));
            }
        }
        min(
            &mut self.reauthenticate_after_ms,
            policy.reauthenticate_after_minutes,
        );
        min(&mut self.lifetime_ms, policy.session_lifetime_minutes);
        min(&mut self.idle_ms, policy.session_idle_minutes);
    }
}

/// What the policies in force ask of one sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// A second factor is required.
    pub required: bool,
    /// The factor kinds that count.
    pub allowed: Vec<FactorKind>,
    /// "Remember this device" days; 0: not offered.
    pub remember_days: u32,
    /// A user without a factor enrols TOTP (else is refused).
    pub enrol: bool,
}

#[derive(Debug, Clone)]
pub struct SignOnPolicies {
    deps: Deps,
}

impl SignOnPolicies {
    pub(crate) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// The policy of an org or client, if one is set.
    pub async fn get(
        &self,
        principal: &AdminPrincipal,
        scope: &PolicyScope,
    ) -> Result<SignOnPolicy> {
        self.owner(principal, scope).await?;
        self.deps
            .store
            .get_signon_policy(scope)
            .await?
            .ok_or(Error::NotFound("sign-on policy"))
    }

    /// Sets (creates or replaces) the policy of an org or client.
    pub async fn put(
        &self,
        principal: &AdminPrincipal,
        ctx: &RequestContext,
        scope: &PolicyScope,
        policy: SignOnPolicy,
    ) -> Result<SignOnPolicy> {
        let org = self.owner(principal, scope).await?;
        validate(&policy)?;
        let audit = self.deps.audit(
            principal.actor(),
            ctx,
            "signon_policy.updated",
            Target::new(scope_kind(scope), scope.id(), Some(org)),
            json!({ "policy": policy }),
        );
        self.deps
            .store
            .put_signon_policy(scope, org, &policy, self.deps.clock.now_millis(), &audit)
            .await?;
        Ok(policy)
    }

    pub async fn delete(
        &self,
        principal: &AdminPrincipal,
        ctx: &RequestContext,
        scope: &PolicyScope,
    ) -> Result<()> {
        let org = self.owner(principal, scope).await?;
        let audit = self.deps.audit(
            principal.actor(),
            ctx,
            "signon_policy.deleted",
            Target::new(scope_kind(scope), scope.id(), Some(org)),
            json!({}),
        );
        if !self.deps.store.delete_signon_policy(scope, &audit).await? {
            return Err(Error::NotFound("sign-on policy"));
        }
        Ok(())
    }

    /// The org that owns `scope`, if the principal may see it.
    async fn owner(&self, principal: &AdminPrincipal, scope: &PolicyScope) -> Result<OrgId> {
        let org = match scope {
            PolicyScope::Org(org) => self
                .deps
                .store
                .get_org(*org)
                .await?
                .map(|o| o.id)
                .ok_or(Error::NotFound("org"))?,
            PolicyScope::Client(client) => self
                .deps
                .store
                .get_client(client)
                .await?
                .map(|c| c.org_id)
                .ok_or(Error::NotFound("client"))?,
            PolicyScope::ServiceProvider(sp) => self
                .deps
                .store
                .get_service_provider(*sp)
                .await?
                .map(|sp| sp.org_id)
                .ok_or(Error::NotFound("service provider"))?,
        };
        if !principal.can_access(org) {
            return Err(Error::NotFound(match scope {
                PolicyScope::Org(_) => "org",
                PolicyScope::Client(_) => "client",
                PolicyScope::ServiceProvider(_) => "service provider",
            }));
        }
        Ok(org)
    }
}

fn scope_kind(scope: &PolicyScope) -> &'static str {
    match scope {
        PolicyScope::Org(_) => "org",
        PolicyScope::Client(_) => "client",
        PolicyScope::ServiceProvider(_) => "service_provider",
    }
}

fn validate(policy: &SignOnPolicy) -> Result<()> {
    let mut errors = Vec::new();
    for (i, zone) in policy.network_zones.iter().enumerate() {
        if Cidr::parse(zone).is_none() {
            errors.push(FieldError::new(
                format!("network_zones/{i}"),
                "invalid_cidr",
                "not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32",
            ));
        }
    }
    if policy.second_factor == SecondFactorRule::OutsideZones && policy.network_zones.is_empty() {
        errors.push(FieldError::new(
            "network_zones",
            "required",
            "outside_zones needs at least one network zone",
        ));
    }
    if policy.second_factor == SecondFactorRule::Groups && policy.groups.is_empty() {
        errors.push(FieldError::new(
            "groups",
            "required",
            "groups needs at least one group",
        ));
    }
    if policy.webauthn_attestation != crate::model::AttestationPolicy::None {
        if policy.webauthn_attestation_cas.is_empty() {
            errors.push(FieldError::new(
                "webauthn_attestation_cas",
                "required",
                "attestation needs at least one trusted root certificate (PEM)",
            ));
        }
        if policy.webauthn_aaguids.is_empty() {
            errors.push(FieldError::new(
                "webauthn_aaguids",
                "required",
                "attestation needs at least one allowed authenticator model (AAGUID)",
            ));
        }
    }
    for (i, pem) in policy.webauthn_attestation_cas.iter().enumerate() {
        if crate::services::passkeys::attestation_cas(std::slice::from_ref(pem), &[]).is_none() {
            errors.push(FieldError::new(
                format!("webauthn_attestation_cas/{i}"),
                "invalid_certificate",
                "not a PEM X.509 certificate",
            ));
        }
    }
    if let Some(appid) = &policy.webauthn_legacy_appid
        && !is_appid(appid)
    {
        errors.push(FieldError::new(
            "webauthn_legacy_appid",
            "invalid_appid",
            "an https URL such as https://login.example.com (http only for localhost)",
        ));
    }
    if policy.remember_device_days > MAX_REMEMBER_DAYS {
        errors.push(FieldError::new(
            "remember_device_days",
            "too_large",
            format!("at most {MAX_REMEMBER_DAYS} days"),
        ));
    }
    for (field, value, max, what) in [
        (
            "reauthenticate_after_minutes",
            policy.reauthenticate_after_minutes,
            MAX_REAUTH_MINUTES,
            "90 days",
        ),
        (
            "session_lifetime_minutes",
            policy.session_lifetime_minutes,
            MAX_LIFETIME_MINUTES,
            "90 days",
        ),
        (
            "session_idle_minutes",
            policy.session_idle_minutes,
            MAX_IDLE_MINUTES,
            "30 days",
        ),
    ] {
        if value > max {
            errors.push(FieldError::new(
                field,
                "too_large",
                format!("at most {max} minutes ({what})"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

/// A FIDO AppID: an absolute https URL with a host and no fragment (http
/// for `localhost` only, as browsers allow).
fn is_appid(text: &str) -> bool {
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    let host = url.host_str().unwrap_or("");
    !host.is_empty()
        && url.fragment().is_none()
        && url.username().is_empty()
        && (url.scheme() == "https" || (url.scheme() == "http" && host == "localhost"))
}

/// The org's policy and, for an app, the app's.
async fn policies_for(
    deps: &Deps,
    org: OrgId,
    app: Option<&PolicyScope>,
) -> Result<Vec<SignOnPolicy>> {
    let mut policies = Vec::new();
    if let Some(policy) = deps.store.get_signon_policy(&PolicyScope::Org(org)).await? {
        policies.push(policy);
    }
    if let Some(app) = app
        && let Some(policy) = deps.store.get_signon_policy(app).await?
    {
        policies.push(policy);
    }
    Ok(policies)
}

/// How old and idle a session of `org` may be for `app` (or, without one,
/// for the org's own pages).
pub(crate) async fn session_limits(
    deps: &Deps,
    org: OrgId,
    app: Option<&PolicyScope>,
) -> Result<SessionLimits> {
    let mut limits = SessionLimits::default();
    for policy in policies_for(deps, org, app).await? {
        limits.tighten(&policy);
    }
    Ok(limits)
}

/// The lifetime and idle timeout (seconds) a new session of `org` gets: the
/// org policy's where it sets them, never longer than the server's.
pub(crate) async fn session_timeouts(
    deps: &Deps,
    org: OrgId,
    server_max_secs: u32,
    server_idle_secs: u32,
) -> Result<(u32, Option<u32>)> {
    let Some(policy) = deps.store.get_signon_policy(&PolicyScope::Org(org)).await? else {
        return Ok((server_max_secs, None));
    };
    let secs = |minutes: u32| minutes.saturating_mul(60);
    let max = match policy.session_lifetime_minutes {
        0 => server_max_secs,
        m => secs(m).min(server_max_secs),
    };
    let idle = match policy.session_idle_minutes {
        0 => None,
        m => Some(secs(m).min(server_idle_secs)),
    };
    Ok((max, idle))
}

/// What the org's and the application's (an OAuth client's or a SAML
/// service provider's) policies ask of `user` signing in from `ip`, in a
/// browser that is (`known_device`) or is not a known device of the account
/// (see [`SecondFactorRule::NewDevice`]).
pub(crate) async fn requirement(
    deps: &Deps,
    user: &User,
    app: Option<&PolicyScope>,
    ip: Option<&str>,
    known_device: bool,
) -> Result<Requirement> {
    let policies = policies_for(deps, user.org_id, app).await?;
    let mut requirement = Requirement {
        required: false,
        allowed: DEFAULT_FACTORS.to_vec(),
        remember_days: 0,
        enrol: true,
    };
    let ip: Option<IpAddr> = ip.and_then(|ip| ip.parse().ok());
    let mut groups = None;
    let mut listed: Option<Vec<FactorKind>> = None;
    for (i, policy) in policies.iter().enumerate() {
        let required = match policy.second_factor {
            SecondFactorRule::Never => false,
            SecondFactorRule::Always => true,
            SecondFactorRule::OutsideZones => !ip.is_some_and(|ip| {
                policy
                    .network_zones
                    .iter()
                    .filter_map(|z| Cidr::parse(z))
                    .any(|z| z.contains(ip))
            }),
            SecondFactorRule::Groups => {
                if groups.is_none() {
                    groups = Some(deps.store.groups_of_user(user.id).await?);
                }
                groups
                    .iter()
                    .flatten()
                    .any(|g| policy.groups.contains(&g.id))
            }
            SecondFactorRule::NewDevice => !known_device,
        };
        requirement.required |= required;
        if !policy.allowed_factors.is_empty() {
            let mut kinds = listed
                .take()
                .unwrap_or_else(|| policy.allowed_factors.clone());
            kinds.retain(|k| policy.allowed_factors.contains(k));
            listed = Some(kinds);
        }
        requirement.remember_days = if i == 0 {
            policy.remember_device_days
        } else {
            requirement.remember_days.min(policy.remember_device_days)
        };
        requirement.enrol &= policy.enrol_at_sign_in;
    }
    if let Some(kinds) = listed {
        requirement.allowed = kinds;
    }
    Ok(requirement)
}

/// An IP network (`address/prefix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
            None => max,
        };
        (prefix <= max).then_some(Self { network, prefix })
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            if prefix == 0 {
                0
            } else {
                bits >> (width - prefix)
            }
        }
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), self.prefix, 32)
                    == masked(u128::from(u32::from(ip)), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128)
                    == masked(u128::from(ip), self.prefix, 128)
            }
            (IpAddr::V6(_), IpAddr::V4(ip)) => self.contains(IpAddr::V6(ip.to_ipv6_mapped())),
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(cidr: &str, ip: &str, expected: bool) {
        let zone = Cidr::parse(cidr).unwrap();
        assert_eq!(
            zone.contains(ip.parse().unwrap()),
            expected,
            "{cidr} ∋ {ip}"
        );
    }

    #[test]
    fn cidr_membership() {
        check("10.0.0.0/8", "10.200.3.4", true);
        check("10.0.0.0/8", "11.0.0.1", false);
        check("192.168.1.7", "192.168.1.7", true);
        check("192.168.1.7", "192.168.1.8", false);
        check("0.0.0.0/0", "8.8.8.8", true);
        check("2001:db8::/32", "2001:db8:1::1", true);
        check("2001:db8::/32", "2001:db9::1", false);
        check("127.0.0.0/8", "::ffff:127.0.0.1", true);
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "x",
            "10.0.0.0/",
            "::/129",
            "1.2.3.4/-1",
        ] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn validation_names_the_fields() {
        let policy = SignOnPolicy {
            second_factor: SecondFactorRule::OutsideZones,
            network_zones: vec!["nope".into()],
            ..SignOnPolicy::default()
        };
        let Err(Error::Invalid(errors)) = validate(&policy) else {
            panic!("accepted")
        };
        assert_eq!(errors[0].field, "network_zones/0");
    }

    #[test]
    fn session_durations_have_maxima() {
        let policy = SignOnPolicy {
            reauthenticate_after_minutes: MAX_REAUTH_MINUTES,
            session_lifetime_minutes: MAX_LIFETIME_MINUTES,
            session_idle_minutes: MAX_IDLE_MINUTES,
            ..SignOnPolicy::default()
        };
        assert!(validate(&policy).is_ok());
        let policy = SignOnPolicy {
            session_idle_minutes: MAX_IDLE_MINUTES + 1,
            ..policy
        };
        let Err(Error::Invalid(errors)) = validate(&policy) else {
            panic!("accepted")
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "session_idle_minutes");
    }

    #[test]
    fn the_smallest_non_zero_limit_wins() {
        let mut limits = SessionLimits::default();
        limits.tighten(&SignOnPolicy {
            reauthenticate_after_minutes: 60,
            session_idle_minutes: 10,
            ..SignOnPolicy::default()
        });
        limits.tighten(&SignOnPolicy {
            reauthenticate_after_minutes: 30,
            session_idle_minutes: 0,
            ..SignOnPolicy::default()
        });
        assert_eq!(limits.reauthenticate_after_ms, Some(30 * 60_000));
        assert_eq!(limits.lifetime_ms, None);
        assert_eq!(limits.idle_ms, Some(10 * 60_000));
    }
}
