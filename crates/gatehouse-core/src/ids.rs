//! Identifier newtypes. Every id is a UUIDv7 (time-ordered) rendered as text,
//! so ids of different kinds cannot be mixed up and sort by creation time.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::clock::{Clock, Rng};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id from the injected clock and RNG.
            pub fn generate(clock: &dyn Clock, rng: &dyn Rng) -> Self {
                Self(new_v7(clock, rng))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

id_type!(
    /// An organization (tenant).
    OrgId
);
id_type!(
    /// A user.
    UserId
);
id_type!(
    /// A group.
    GroupId
);
id_type!(
    /// An admin API token.
    ApiTokenId
);
id_type!(
    /// An audit event.
    AuditEventId
);
id_type!(
    /// A browser SSO session (the OIDC `sid`).
    SessionId
);
id_type!(
    /// A SAML service provider.
    ServiceProviderId
);
id_type!(
    /// A group rule (services::group_rules).
    GroupRuleId
);
id_type!(
    /// One authorization of a client by a user: the family of its codes and tokens.
    GrantId
);
id_type!(
    /// A pending back-channel logout notification.
    LogoutDeliveryId
);

id_type!(
    /// An enrolled authentication factor (TOTP).
    FactorId
);

impl OrgId {
    /// The organization that always exists; B2C deployments use only this one.
    pub const DEFAULT: OrgId = OrgId(Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0001));
}

fn new_v7(clock: &dyn Clock, rng: &dyn Rng) -> Uuid {
    let mut random = [0u8; 10];
    rng.fill(&mut random);
    let millis = u64::try_from(clock.now_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{FakeClock, SystemRng};

    #[test]
    fn ids_are_v7_and_time_ordered() {
        let clock = FakeClock::at(1_700_000_000_000);
        let rng = SystemRng::new();
        let a = UserId::generate(&clock, &rng);
        clock.advance_secs(1);
        let b = UserId::generate(&clock, &rng);
        assert_eq!(a.0.get_version_num(), 7);
        assert!(a < b);
        assert_eq!(a.to_string().parse::<UserId>().ok(), Some(a));
    }
}
