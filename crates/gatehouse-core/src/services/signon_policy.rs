//! Sign-on policies: when a sign-in needs a second factor, which factors
//! count, and how long "remember this device" lasts — per org and per OAuth
//! client. Where both exist the stricter wins: a second factor is required
//! when either requires it, the allowed factors are those both allow, and
//! the shorter remember-device period applies.

use std::net::IpAddr;

use serde_json::json;

use crate::error::{Error, FieldError, Result};
use crate::ids::OrgId;
use crate::model::{FactorKind, PolicyScope, SecondFactorRule, SignOnPolicy, User};
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

/// What the org's and the application's (an OAuth client's or a SAML
/// service provider's) policies ask of `user` signing in from `ip`.
pub(crate) async fn requirement(
    deps: &Deps,
    user: &User,
    app: Option<&PolicyScope>,
    ip: Option<&str>,
) -> Result<Requirement> {
    let mut policies = Vec::new();
    if let Some(policy) = deps
        .store
        .get_signon_policy(&PolicyScope::Org(user.org_id))
        .await?
    {
        policies.push(policy);
    }
    if let Some(app) = app
        && let Some(policy) = deps.store.get_signon_policy(app).await?
    {
        policies.push(policy);
    }
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
}
