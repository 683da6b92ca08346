//! Single Logout messages (SAML 2.0 Core §3.7): `<samlp:LogoutRequest>` and
//! `<samlp:LogoutResponse>`, parsed when an SP sends them and built when we do.

use crate::error::{Result, SamlError};
use crate::ns::{SAML, SAMLP};
use crate::response::{saml, samlp, status_element};
use crate::time::date_time;
use crate::tree::Element;
use crate::{dsig, xml};

/// A logout request from an SP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    pub id: String,
    pub issuer: String,
    pub name_id: String,
    pub session_indexes: Vec<String>,
    /// Whether the XML carries an enveloped signature (POST binding).
    pub signed: bool,
}

/// A logout response from an SP (to a request of ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutResponse {
    pub issuer: String,
    pub in_response_to: Option<String>,
    pub status: String,
    pub signed: bool,
}

/// Either message, as received on `/saml/slo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutMessage {
    Request(LogoutRequest),
    Response(LogoutResponse),
}

fn issuer(root: roxmltree::Node<'_, '_>) -> Result<String> {
    xml::single_child(root, SAML, "Issuer")?
        .map(xml::text)
        .filter(|i| !i.is_empty())
        .ok_or_else(|| SamlError::Invalid("no Issuer".into()))
}

/// Parses a LogoutRequest or LogoutResponse (no signature check).
pub fn parse(text: &str) -> Result<LogoutMessage> {
    let doc = xml::parse(text)?;
    let root = doc.root_element();
    if xml::required(root, "Version")? != "2.0" {
        return Err(SamlError::Invalid("Version must be 2.0".into()));
    }
    let signed = dsig::is_signed(root);
    if xml::is(root, SAMLP, "LogoutRequest") {
        let name_id = xml::single_child(root, SAML, "NameID")?
            .map(xml::text)
            .ok_or_else(|| SamlError::Invalid("no NameID".into()))?;
        Ok(LogoutMessage::Request(LogoutRequest {
            id: xml::required(root, "ID")?.to_owned(),
            issuer: issuer(root)?,
            name_id,
            session_indexes: xml::children(root, SAMLP, "SessionIndex")
                .map(xml::text)
                .collect(),
            signed,
        }))
    } else if xml::is(root, SAMLP, "LogoutResponse") {
        let status = xml::child(root, SAMLP, "Status")
            .and_then(|s| xml::child(s, SAMLP, "StatusCode"))
            .and_then(|c| c.attribute("Value"))
            .ok_or_else(|| SamlError::Invalid("no StatusCode".into()))?
            .to_owned();
        Ok(LogoutMessage::Response(LogoutResponse {
            issuer: issuer(root)?,
            in_response_to: root.attribute("InResponseTo").map(str::to_owned),
            status,
            signed,
        }))
    } else {
        Err(SamlError::Invalid(
            "not a LogoutRequest or LogoutResponse".into(),
        ))
    }
}

/// The user as a LogoutRequest names them: exactly the `<saml:NameID>` the
/// assertion carried (SAML 2.0 Core §3.7.1; SPs compare all of it).
#[derive(Debug, Clone, Copy)]
pub struct NameId<'a> {
    pub value: &'a str,
    pub format: &'a str,
    /// The SP's entity ID, as `SPNameQualifier` in the assertion.
    pub sp_name_qualifier: &'a str,
}

/// A LogoutRequest from the IdP to an SP (unsigned; sign it with
/// [`dsig::sign_enveloped`] at position 1 for POST, or on the query for Redirect).
pub fn request(
    id: &str,
    issuer: &str,
    destination: &str,
    issue_instant: i64,
    name_id: NameId<'_>,
    session_index: &str,
) -> Element {
    samlp("LogoutRequest")
        .attr("ID", id)
        .attr("Version", "2.0")
        .attr("IssueInstant", date_time(issue_instant))
        .attr("Destination", destination)
        .child(saml("Issuer").text(issuer))
        .child(
            saml("NameID")
                .attr("Format", name_id.format)
                .attr("SPNameQualifier", name_id.sp_name_qualifier)
                .text(name_id.value),
        )
        .child(samlp("SessionIndex").text(session_index))
}

/// The IdP's LogoutResponse to an SP's request; `sub_status` is a
/// second-level code such as `PartialLogout` (SAML 2.0 Core §3.2.2.2).
pub fn response(
    id: &str,
    issuer: &str,
    destination: &str,
    issue_instant: i64,
    in_response_to: &str,
    (status, sub_status): (&str, Option<&str>),
) -> Element {
    samlp("LogoutResponse")
        .attr("ID", id)
        .attr("Version", "2.0")
        .attr("IssueInstant", date_time(issue_instant))
        .attr("Destination", destination)
        .attr("InResponseTo", in_response_to)
        .child(saml("Issuer").text(issuer))
        .child(status_element(status, sub_status))
}
