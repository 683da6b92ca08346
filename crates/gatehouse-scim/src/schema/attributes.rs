//! The attribute definitions of the core User and Group schemas and the
//! Enterprise User extension (RFC 7643 §4.1, §4.2, §4.3, as written out in
//! §8.7.1), and the common attributes `id`, `externalId` and `meta` (§3.1).
//! Descriptions are paraphrased from the RFC.

use super::{AttrType, AttributeDef, Mutability, Returned, Uniqueness, attr};

const fn string(name: &'static str, description: &'static str) -> AttributeDef {
    attr(name, AttrType::String, description)
}

const fn boolean(name: &'static str, description: &'static str) -> AttributeDef {
    attr(name, AttrType::Boolean, description)
}

const fn reference(
    name: &'static str,
    types: &'static [&'static str],
    description: &'static str,
) -> AttributeDef {
    attr(name, AttrType::Reference, description).reference_types(types)
}

/// The sub-attributes shared by the plural attributes of a User (§2.4):
/// `value`, `display`, `type`, `primary`.
const fn plural(value: AttributeDef, types: &'static [&'static str]) -> [AttributeDef; 4] {
    [
        value,
        string(
            "display",
            "A human-readable name, primarily used for display purposes.",
        ),
        string("type", "A label indicating the attribute's function.").canonical(types),
        boolean(
            "primary",
            "A Boolean value indicating the 'primary' or preferred attribute value.",
        ),
    ]
}

const EMAIL_SUBS: [AttributeDef; 4] = plural(
    string(
        "value",
        "Email address for the User, canonicalized per RFC 5321.",
    ),
    &["work", "home", "other"],
);
const PHONE_SUBS: [AttributeDef; 4] = plural(
    string(
        "value",
        "Phone number of the User, canonicalized per RFC 3966.",
    ),
    &["work", "home", "mobile", "fax", "pager", "other"],
);
const IM_SUBS: [AttributeDef; 4] = plural(
    string("value", "Instant messaging address for the User."),
    &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
);
const PHOTO_SUBS: [AttributeDef; 4] = plural(
    reference("value", &["external"], "URL of a photo of the User."),
    &["photo", "thumbnail"],
);
const ENTITLEMENT_SUBS: [AttributeDef; 4] =
    plural(string("value", "The value of an entitlement."), &[]);
const ROLE_SUBS: [AttributeDef; 4] = plural(string("value", "The value of a role."), &[]);
const CERT_SUBS: [AttributeDef; 4] = plural(
    attr(
        "value",
        AttrType::Binary,
        "The value of an X.509 certificate (DER, base64).",
    )
    .case_exact(),
    &[],
);

const NAME_SUBS: [AttributeDef; 6] = [
    string(
        "formatted",
        "The full name, including all middle names, titles and suffixes, formatted for display.",
    ),
    string("familyName", "The family name of the User (last name)."),
    string("givenName", "The given name of the User (first name)."),
    string("middleName", "The middle name(s) of the User."),
    string(
        "honorificPrefix",
        "The honorific prefix(es) of the User (title, e.g. 'Ms.').",
    ),
    string(
        "honorificSuffix",
        "The honorific suffix(es) of the User (e.g. 'III').",
    ),
];

const ADDRESS_SUBS: [AttributeDef; 8] = [
    string(
        "formatted",
        "The full mailing address, formatted for display or use with a mailing label.",
    ),
    string(
        "streetAddress",
        "The full street address component (house number, street name, P.O. box...).",
    ),
    string("locality", "The city or locality component."),
    string("region", "The state or region component."),
    string("postalCode", "The zip code or postal code component."),
    string(
        "country",
        "The country name component (ISO 3166-1 alpha-2).",
    ),
    string("type", "A label indicating the attribute's function.")
        .canonical(&["work", "home", "other"]),
    boolean(
        "primary",
        "A Boolean value indicating the 'primary' or preferred address.",
    ),
];

const USER_GROUP_SUBS: [AttributeDef; 4] = [
    string("value", "The identifier of the User's group.").mutability(Mutability::ReadOnly),
    reference("$ref", &["User", "Group"], "The URI of the Group resource.")
        .mutability(Mutability::ReadOnly),
    string("display", "A human-readable name of the group.").mutability(Mutability::ReadOnly),
    string(
        "type",
        "How the membership was derived: 'direct' or 'indirect'.",
    )
    .canonical(&["direct", "indirect"])
    .mutability(Mutability::ReadOnly),
];

/// RFC 7643 §4.1 and §8.7.1: `urn:ietf:params:scim:schemas:core:2.0:User`.
pub(super) const USER: [AttributeDef; 21] = [
    string(
        "userName",
        "Unique identifier for the User, used to authenticate; unique across the service provider's Users.",
    )
    .required()
    .uniqueness(Uniqueness::Server),
    attr(
        "name",
        AttrType::Complex,
        "The components of the user's real name.",
    )
    .sub_attributes(&NAME_SUBS),
    string(
        "displayName",
        "The name of the User, suitable for display to end-users.",
    ),
    string("nickName", "The casual way to address the user in real life."),
    reference(
        "profileUrl",
        &["external"],
        "A fully qualified URL pointing to a page representing the User's online profile.",
    ),
    string("title", "The user's title, such as \"Vice President\"."),
    string(
        "userType",
        "Identifies the relationship between the organization and the user (e.g. 'Employee').",
    ),
    string(
        "preferredLanguage",
        "The User's preferred written or spoken language (RFC 7231 Accept-Language syntax).",
    ),
    string(
        "locale",
        "The User's default location for localizing items such as currency and dates.",
    ),
    string(
        "timezone",
        "The User's time zone in IANA Time Zone database format.",
    ),
    boolean("active", "A Boolean value indicating the User's administrative status."),
    string(
        "password",
        "The User's cleartext password; never returned by a service provider.",
    )
    .mutability(Mutability::WriteOnly)
    .returned(Returned::Never),
    attr(
        "emails",
        AttrType::Complex,
        "Email addresses for the user.",
    )
    .multi_valued()
    .sub_attributes(&EMAIL_SUBS),
    attr(
        "phoneNumbers",
        AttrType::Complex,
        "Phone numbers for the User.",
    )
    .multi_valued()
    .sub_attributes(&PHONE_SUBS),
    attr(
        "ims",
        AttrType::Complex,
        "Instant messaging addresses for the User.",
    )
    .multi_valued()
    .sub_attributes(&IM_SUBS),
    attr("photos", AttrType::Complex, "URLs of photos of the User.")
        .multi_valued()
        .sub_attributes(&PHOTO_SUBS),
    attr(
        "addresses",
        AttrType::Complex,
        "A physical mailing address for this User.",
    )
    .multi_valued()
    .sub_attributes(&ADDRESS_SUBS),
    attr(
        "groups",
        AttrType::Complex,
        "A list of groups to which the user belongs, by direct membership or through nested groups.",
    )
    .multi_valued()
    .mutability(Mutability::ReadOnly)
    .sub_attributes(&USER_GROUP_SUBS),
    attr(
        "entitlements",
        AttrType::Complex,
        "A list of entitlements for the User that represent a thing the User has.",
    )
    .multi_valued()
    .sub_attributes(&ENTITLEMENT_SUBS),
    attr(
        "roles",
        AttrType::Complex,
        "A list of roles for the User that collectively represent who the User is.",
    )
    .multi_valued()
    .sub_attributes(&ROLE_SUBS),
    attr(
        "x509Certificates",
        AttrType::Complex,
        "A list of certificates issued to the User.",
    )
    .multi_valued()
    .sub_attributes(&CERT_SUBS),
];

const MEMBER_SUBS: [AttributeDef; 4] = [
    string("value", "Identifier of the member of this Group.")
        .mutability(Mutability::Immutable)
        .case_exact(),
    reference(
        "$ref",
        &["User", "Group"],
        "The URI corresponding to a SCIM resource that is a member of this Group.",
    )
    .mutability(Mutability::Immutable),
    string("display", "A human-readable name of the member.").mutability(Mutability::ReadOnly),
    string(
        "type",
        "A label indicating the type of resource, e.g. 'User' or 'Group'.",
    )
    .canonical(&["User", "Group"])
    .mutability(Mutability::Immutable),
];

/// RFC 7643 §4.2 and §8.7.1: `urn:ietf:params:scim:schemas:core:2.0:Group`.
/// `displayName` is required per §4.2 ("REQUIRED").
pub(super) const GROUP: [AttributeDef; 2] = [
    string("displayName", "A human-readable name for the Group.").required(),
    attr(
        "members",
        AttrType::Complex,
        "A list of members of the Group.",
    )
    .multi_valued()
    .sub_attributes(&MEMBER_SUBS),
];

const MANAGER_SUBS: [AttributeDef; 3] = [
    string(
        "value",
        "The id of the SCIM resource representing the User's manager.",
    )
    .case_exact(),
    reference(
        "$ref",
        &["User"],
        "The URI of the SCIM resource representing the User's manager.",
    ),
    string("displayName", "The displayName of the User's manager.")
        .mutability(Mutability::ReadOnly),
];

/// RFC 7643 §4.3 and §8.7.1:
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
pub(super) const ENTERPRISE_USER: [AttributeDef; 6] = [
    string(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person by the organization.",
    ),
    string("costCenter", "Identifies the name of a cost center."),
    string("organization", "Identifies the name of an organization."),
    string("division", "Identifies the name of a division."),
    string("department", "Identifies the name of a department."),
    attr(
        "manager",
        AttrType::Complex,
        "The User's manager, referenced by id.",
    )
    .sub_attributes(&MANAGER_SUBS),
];

const META_SUBS: [AttributeDef; 5] = [
    string(
        "resourceType",
        "The name of the resource type of the resource.",
    )
    .case_exact()
    .mutability(Mutability::ReadOnly),
    attr(
        "created",
        AttrType::DateTime,
        "The date and time the resource was added to the service provider.",
    )
    .mutability(Mutability::ReadOnly),
    attr(
        "lastModified",
        AttrType::DateTime,
        "The most recent date and time the resource was modified.",
    )
    .mutability(Mutability::ReadOnly),
    reference(
        "location",
        &["uri"],
        "The URI of the resource being returned.",
    )
    .case_exact()
    .mutability(Mutability::ReadOnly),
    string("version", "The version (entity tag) of the resource.")
        .case_exact()
        .mutability(Mutability::ReadOnly),
];

/// RFC 7643 §3.1: the attributes every resource has, which no schema lists.
pub(super) const COMMON: [AttributeDef; 3] = [
    string(
        "id",
        "A unique identifier for the resource, assigned by the service provider.",
    )
    .case_exact()
    .mutability(Mutability::ReadOnly)
    .returned(Returned::Always)
    .uniqueness(Uniqueness::Server),
    string(
        "externalId",
        "An identifier for the resource as defined by the provisioning client.",
    )
    .case_exact(),
    attr("meta", AttrType::Complex, "Resource metadata.")
        .mutability(Mutability::ReadOnly)
        .sub_attributes(&META_SUBS),
];
