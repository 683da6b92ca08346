//! The SAML 2.0 IdP over HTTP: metadata, service-provider registration
//! (INTERFACE.md: SP metadata XML → 201), SP- and IdP-initiated SSO through
//! the hosted sign-in, request checks (signatures, replay, ACS), and
//! SP-initiated single logout. Responses are checked with our verifier and,
//! when installed, with `xmlsec1` as a SAML SP library runs it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::io::Write as _;
use std::process::Command;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::rp::{PASSWORD, user};
use gatehouse_saml::binding::{Kind, RedirectMessage, redirect_url};
use gatehouse_saml::ns::{SAML, SAMLP};
use gatehouse_saml::tree::Element;
use gatehouse_saml::x509::{self, CertificateParams, RsaPublicKey};
use gatehouse_saml::{SamlError, dsig, xml};
use gatehouse_testkit::TestServer;
use gatehouse_testkit::browser::{Browser, Consent, Landing, hidden_fields};
use serde_json::{Value, json};

const SP: &str = "https://sp.example.com/metadata";
const ACS: &str = "https://sp.example.com/acs";
const SLO: &str = "https://sp.example.com/slo";

/// The SP's signing key.
struct SpKey {
    pair: RsaKeyPair,
    certificate: Vec<u8>,
}

impl SpKey {
    fn generate() -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let _ = pair.as_der().unwrap();
        let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let mut key = Self {
            pair,
            certificate: Vec::new(),
        };
        let params = CertificateParams {
            common_name: "sp",
            serial: [9; 16],
            not_before: 946_684_800,
            not_after: 4_102_444_799,
            modulus: &components.n,
            exponent: &components.e,
        };
        key.certificate = x509::self_signed(&params, &|d| key.sign(d)).unwrap();
        key
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SamlError> {
        let mut out = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                data,
                &mut out,
            )
            .map_err(|_| SamlError::Signing)?;
        Ok(out)
    }
}

fn sp_metadata(certificate: Option<&[u8]>, signed: bool) -> String {
    let key = certificate.map_or_else(String::new, |c| {
        format!(
            "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\
             <ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
            STANDARD.encode(c)
        )
    });
    format!(
        r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{SP}">
  <md:SPSSODescriptor AuthnRequestsSigned="{signed}" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    {key}
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{SLO}"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{ACS}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>"#
    )
}

async fn register_xml(server: &TestServer, metadata: &str) -> reqwest::Response {
    server
        .admin()
        .post("/api/v1/saml/service-providers")
        .header("content-type", "application/samlmetadata+xml")
        .body(metadata.to_owned())
        .send()
        .await
        .unwrap()
}

/// Registers the test SP (unsigned requests) with attribute mappings.
async fn register(server: &TestServer) -> Value {
    let sp = common::json(register_xml(server, &sp_metadata(None, false)).await, 201).await;
    let id = sp["id"].as_str().unwrap();
    let patch = json!({ "attributes": [
        { "name": "email", "source": "email" },
        { "name": "givenName", "source": "given_name" },
        { "name": "groups", "source": "groups", "group_prefix": "app-" },
    ]});
    common::json(
        server
            .admin()
            .patch(&format!("/api/v1/saml/service-providers/{id}"))
            .json(&patch)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

fn authn_request(id: &str, acs: &str) -> Element {
    Element::new("samlp", SAMLP, "AuthnRequest")
        .attr("ID", id)
        .attr("Version", "2.0")
        .attr("IssueInstant", "2023-11-14T22:13:20Z")
        .attr("AssertionConsumerServiceURL", acs)
        .attr("ProtocolBinding", gatehouse_saml::bindings::POST)
        .child(Element::new("saml", SAML, "Issuer").text(SP))
}

/// `/saml/sso?SAMLRequest=…` for a request, optionally signed on the query.
fn sso_url(
    server: &TestServer,
    request: &Element,
    relay_state: Option<&str>,
    key: Option<&SpKey>,
) -> String {
    let sign = key.map(|k| move |d: &[u8]| k.sign(d));
    let signer: Option<dsig::Signer<'_>> = sign.as_ref().map(|s| s as dsig::Signer<'_>);
    redirect_url(
        &server.url("/saml/sso"),
        Kind::Request,
        &request.canonical(),
        relay_state,
        signer,
    )
    .unwrap()
}

/// The auto-POST page's fields: SAMLResponse (decoded XML) and RelayState.
fn posted(landing: &Landing) -> (String, Option<String>) {
    let Landing::Page(200, html) = landing else {
        panic!("no auto-POST page: {landing:?}")
    };
    let action = format!("action=\"{}\"", ACS.replace('/', "&#x2f;"));
    assert!(html.contains(&action), "{html}");
    let fields = hidden_fields(html);
    let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let response =
        String::from_utf8(STANDARD.decode(get("SAMLResponse").unwrap()).unwrap()).unwrap();
    (response, get("RelayState"))
}

/// The IdP's signing certificate, read from its metadata.
async fn idp_certificate(server: &TestServer) -> Vec<u8> {
    let metadata = server
        .client()
        .get(server.url("/saml/metadata"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = xml::parse(&metadata).unwrap();
    let node = doc
        .descendants()
        .find(|n| n.tag_name().name() == "X509Certificate")
        .unwrap();
    STANDARD.decode(xml::text(node)).unwrap()
}

/// Verifies the Response's and the Assertion's signatures with our verifier.
fn verify_signed(response: &str, certificate: &[u8]) {
    let key = RsaPublicKey::from_certificate(certificate).unwrap();
    let doc = xml::parse(response).unwrap();
    dsig::verify_enveloped(&doc, doc.root_element(), std::slice::from_ref(&key)).unwrap();
    let assertion = doc
        .descendants()
        .find(|n| xml::is(*n, SAML, "Assertion"))
        .unwrap();
    dsig::verify_enveloped(&doc, assertion, &[key]).unwrap();
}

fn text_of(response: &str, name: &str) -> String {
    let doc = xml::parse(response).unwrap();
    doc.descendants()
        .find(|n| n.tag_name().name() == name)
        .map(xml::text)
        .unwrap_or_default()
}

fn attr_of(response: &str, element: &str, attribute: &str) -> Option<String> {
    let doc = xml::parse(response).unwrap();
    doc.descendants()
        .find(|n| n.tag_name().name() == element)
        .and_then(|n| n.attribute(attribute).map(str::to_owned))
}

#[tokio::test]
async fn metadata_publishes_certificate_and_endpoints() {
    let server = TestServer::start().await;
    let response = server
        .client()
        .get(server.url("/saml/metadata"))
        .send()
        .await
        .unwrap();
    let (status, headers, body) = common::read(response).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/samlmetadata+xml");
    for needle in [
        "entityID=\"",
        "IDPSSODescriptor",
        "SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\"",
        "SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\"",
        "SingleLogoutService",
        "nameid-format:persistent",
    ] {
        assert!(body.contains(needle), "{needle}: {body}");
    }
    let certificate = idp_certificate(&server).await;
    RsaPublicKey::from_certificate(&certificate).unwrap();
}

#[tokio::test]
async fn service_providers_register_from_metadata_and_json() {
    let server = TestServer::start().await;
    let created = register_xml(&server, &sp_metadata(None, false)).await;
    assert!(created.headers().contains_key("location"));
    let sp = common::json(created, 201).await;
    assert_eq!(sp["entity_id"], SP);
    assert_eq!(sp["assertion_consumer_services"][0]["location"], ACS);
    assert_eq!(sp["single_logout_service"]["location"], SLO);
    let id = sp["id"].as_str().unwrap().to_owned();
    common::problem(register_xml(&server, &sp_metadata(None, false)).await, 409).await;
    let listed = common::json(
        server
            .admin()
            .get("/api/v1/saml/service-providers")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let patched = common::json(
        server
            .admin()
            .patch(&format!("/api/v1/saml/service-providers/{id}"))
            .json(&json!({ "assertion_lifetime_secs": 120 }))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(patched["assertion_lifetime_secs"], 120);
    let json_sp = common::json(
        server
            .admin()
            .post("/api/v1/saml/service-providers")
            .json(&json!({
                "entity_id": "urn:other",
                "assertion_consumer_services": [{ "location": "https://other.example/acs" }],
                "name_id_format": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                "name_id_source": "email",
            }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(json_sp["sign_assertion"], true);
    common::empty(
        server
            .admin()
            .delete(&format!("/api/v1/saml/service-providers/{id}"))
            .send()
            .await
            .unwrap(),
        204,
    )
    .await;
    common::problem(
        server
            .admin()
            .get(&format!("/api/v1/saml/service-providers/{id}"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}

/// Bad metadata is a 400 problem, never a 500: garbage, a DTD (entity
/// expansion), and XML that is not SP metadata.
#[tokio::test]
async fn bad_metadata_is_a_400_problem() {
    let server = TestServer::start().await;
    let doctype = format!(
        "<!DOCTYPE md [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
        sp_metadata(None, false).trim_start_matches("<?xml version=\"1.0\"?>")
    );
    for body in [
        "not xml",
        "<a><b></a>",
        doctype.as_str(),
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"/>",
    ] {
        common::problem(register_xml(&server, body).await, 400).await;
    }
}

#[tokio::test]
async fn sp_initiated_sso_through_hosted_sign_in() {
    let server = TestServer::start().await;
    register(&server).await;
    let ada = user(&server, "ada").await;
    let group = server
        .admin()
        .create("/api/v1/groups", json!({ "name": "app-users" }))
        .await;
    let other = server
        .admin()
        .create("/api/v1/groups", json!({ "name": "staff" }))
        .await;
    for g in [&group, &other] {
        let gid = g["id"].as_str().unwrap();
        let uid = ada["id"].as_str().unwrap();
        let r = server
            .admin()
            .put(&format!("/api/v1/groups/{gid}/members/{uid}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    let browser = Browser::new(&server.url("")).unwrap();
    let url = sso_url(
        &server,
        &authn_request("_req-1", ACS),
        Some("relay&state"),
        None,
    );
    let landing = browser
        .walk(&url, Some(("ada", PASSWORD)), Consent::Allow)
        .await
        .unwrap();
    let (response, relay_state) = posted(&landing);
    assert_eq!(relay_state.as_deref(), Some("relay&state"));
    verify_signed(&response, &idp_certificate(&server).await);
    assert_eq!(
        attr_of(&response, "Response", "InResponseTo").as_deref(),
        Some("_req-1")
    );
    assert_eq!(
        attr_of(&response, "StatusCode", "Value").as_deref(),
        Some(gatehouse_saml::status::SUCCESS)
    );
    assert_eq!(text_of(&response, "Audience"), SP);
    assert_eq!(
        attr_of(&response, "SubjectConfirmationData", "Recipient").as_deref(),
        Some(ACS)
    );
    assert_eq!(text_of(&response, "NameID"), ada["id"].as_str().unwrap());
    assert!(
        response.contains("<saml:AttributeValue>ada@example.com</saml:AttributeValue>"),
        "{response}"
    );
    assert!(
        response.contains("<saml:AttributeValue>app-users</saml:AttributeValue>"),
        "{response}"
    );
    assert!(
        !response.contains(">staff<"),
        "groups are filtered: {response}"
    );
    assert!(attr_of(&response, "AuthnStatement", "SessionIndex").is_some());
    xmlsec1_verifies(&response, &idp_certificate(&server).await);

    // SSO: the same browser is not asked to sign in again.
    let url = sso_url(&server, &authn_request("_req-2", ACS), None, None);
    let landing = browser.walk(&url, None, Consent::Allow).await.unwrap();
    let (second, _) = posted(&landing);
    assert_eq!(
        attr_of(&second, "Response", "InResponseTo").as_deref(),
        Some("_req-2")
    );

    // ForceAuthn asks again, for a sign-in newer than the request.
    server.clock.advance_secs(5);
    let forced = authn_request("_req-3", ACS).attr("ForceAuthn", "true");
    let landing = browser
        .walk(&sso_url(&server, &forced, None, None), None, Consent::Allow)
        .await
        .unwrap();
    assert!(
        matches!(&landing, Landing::Page(200, html) if html.contains("name=\"password\"")),
        "{landing:?}"
    );
}

/// An SP's sign-on policy with `reauthenticate_after_minutes` works like
/// ForceAuthn once the session's sign-in is older than that: the password
/// again, then assertions without asking until it is that old once more.
#[tokio::test]
async fn service_provider_policy_reauthenticates_an_old_session() {
    let server = TestServer::start().await;
    let sp = register(&server).await;
    user(&server, "ada").await;
    user(&server, "bob").await;
    common::json(
        server
            .admin()
            .put(&format!(
                "/api/v1/saml/service-providers/{}/signon-policy",
                sp["id"].as_str().unwrap()
            ))
            .json(&json!({ "reauthenticate_after_minutes": 10 }))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let browser = Browser::new(&server.url("")).unwrap();
    let first = sso_url(&server, &authn_request("_re-1", ACS), None, None);
    posted(
        &browser
            .walk(&first, Some(("ada", PASSWORD)), Consent::Allow)
            .await
            .unwrap(),
    );
    // Five minutes on, single sign-on as usual.
    server.clock.advance_secs(5 * 60);
    let again = sso_url(&server, &authn_request("_re-2", ACS), None, None);
    posted(&browser.walk(&again, None, Consent::Allow).await.unwrap());
    // Eleven minutes after the sign-in: the password again.
    server.clock.advance_secs(6 * 60);
    let old = sso_url(&server, &authn_request("_re-3", ACS), None, None);
    let landing = browser.walk(&old, None, Consent::Allow).await.unwrap();
    let Landing::Page(200, html) = &landing else {
        panic!("{landing:?}")
    };
    assert!(html.contains("name=\"password\""), "{html}");
    assert!(html.contains("value=\"ada\""), "for ada: {html}");
    // Another account cannot take ada's re-authentication over.
    let mut form = hidden_fields(html);
    form.push(("username".into(), "bob".into()));
    form.push(("password".into(), PASSWORD.into()));
    let refused = browser.post_form("/login", &form).await.unwrap();
    assert_eq!(refused.status(), 403);
    let old = sso_url(&server, &authn_request("_re-4", ACS), None, None);
    let (response, _) = posted(
        &browser
            .walk(&old, Some(("ada", PASSWORD)), Consent::Allow)
            .await
            .unwrap(),
    );
    assert_eq!(
        attr_of(&response, "Response", "InResponseTo").as_deref(),
        Some("_re-4")
    );
    let fresh = sso_url(&server, &authn_request("_re-5", ACS), None, None);
    posted(&browser.walk(&fresh, None, Consent::Allow).await.unwrap());
}

/// Replayed request IDs and unregistered ACS URLs are refused with a page;
/// nothing is posted anywhere.
#[tokio::test]
async fn replayed_requests_and_foreign_acs_refused() {
    let server = TestServer::start().await;
    register(&server).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let url = sso_url(&server, &authn_request("_once", ACS), None, None);
    let first = browser.walk(&url, None, Consent::Allow).await.unwrap();
    assert!(
        matches!(&first, Landing::Page(200, html) if html.contains("name=\"password\"")),
        "{first:?}"
    );
    let again = browser.walk(&url, None, Consent::Allow).await.unwrap();
    assert!(
        matches!(&again, Landing::Page(400, html) if html.contains("already used")),
        "{again:?}"
    );
    let foreign = sso_url(
        &server,
        &authn_request("_acs", "https://evil.example/acs"),
        None,
        None,
    );
    let landing = browser.walk(&foreign, None, Consent::Allow).await.unwrap();
    assert!(matches!(&landing, Landing::Page(400, _)), "{landing:?}");
    let doctype = "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>";
    let landing = browser
        .walk(
            &redirect_url(&server.url("/saml/sso"), Kind::Request, doctype, None, None).unwrap(),
            None,
            Consent::Allow,
        )
        .await
        .unwrap();
    assert!(matches!(&landing, Landing::Page(400, _)), "{landing:?}");
}

/// With `AuthnRequestsSigned`, unsigned and badly signed requests are
/// refused; signed ones (Redirect: over the query; POST: enveloped) go on.
#[tokio::test]
async fn signed_requests_required_and_verified() {
    let server = TestServer::start().await;
    let key = SpKey::generate();
    common::json(
        register_xml(&server, &sp_metadata(Some(&key.certificate), true)).await,
        201,
    )
    .await;
    let browser = Browser::new(&server.url("")).unwrap();
    let unsigned = sso_url(&server, &authn_request("_u", ACS), None, None);
    let landing = browser.walk(&unsigned, None, Consent::Allow).await.unwrap();
    assert!(
        matches!(&landing, Landing::Page(400, html) if html.contains("not signed")),
        "{landing:?}"
    );

    let signed = sso_url(&server, &authn_request("_s", ACS), Some("rs"), Some(&key));
    let landing = browser.walk(&signed, None, Consent::Allow).await.unwrap();
    assert!(
        matches!(&landing, Landing::Page(200, html) if html.contains("name=\"password\"")),
        "{landing:?}"
    );

    let other = SpKey::generate();
    let forged = sso_url(&server, &authn_request("_f", ACS), None, Some(&other));
    let landing = browser.walk(&forged, None, Consent::Allow).await.unwrap();
    assert!(matches!(&landing, Landing::Page(400, _)), "{landing:?}");

    // POST binding: the enveloped signature of the request element.
    let mut request = authn_request("_p", ACS);
    dsig::sign_enveloped(&mut request, 1, &|d| key.sign(d), &key.certificate).unwrap();
    let form = [(
        "SAMLRequest".to_owned(),
        STANDARD.encode(request.canonical()),
    )];
    let response = browser.post_form("/saml/sso", &form).await.unwrap();
    assert_eq!(response.status(), 303);
    let tampered = request.canonical().replace(ACS, "https://evil.example/acs");
    let form = [("SAMLRequest".to_owned(), STANDARD.encode(tampered))];
    let response = browser.post_form("/saml/sso", &form).await.unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn is_passive_without_session_answers_no_passive() {
    let server = TestServer::start().await;
    register(&server).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let passive = authn_request("_passive", ACS).attr("IsPassive", "true");
    let landing = browser
        .walk(
            &sso_url(&server, &passive, None, None),
            None,
            Consent::Allow,
        )
        .await
        .unwrap();
    let (response, _) = posted(&landing);
    assert!(
        response.contains(gatehouse_saml::status::NO_PASSIVE),
        "{response}"
    );
}

#[tokio::test]
async fn idp_initiated_sso() {
    let server = TestServer::start().await;
    register(&server).await;
    user(&server, "ada").await;
    let browser = Browser::new(&server.url("")).unwrap();
    let url = format!(
        "{}?sp={}&RelayState=home",
        server.url("/saml/sso"),
        urlencode(SP)
    );
    let landing = browser
        .walk(&url, Some(("ada", PASSWORD)), Consent::Allow)
        .await
        .unwrap();
    let (response, relay_state) = posted(&landing);
    assert_eq!(relay_state.as_deref(), Some("home"));
    assert_eq!(attr_of(&response, "Response", "InResponseTo"), None);
    verify_signed(&response, &idp_certificate(&server).await);
}

/// SP-initiated SLO: the LogoutRequest names our SessionIndex; the session
/// ends (the next AuthnRequest needs a sign-in) and a signed LogoutResponse
/// goes to the SP's Redirect endpoint.
#[tokio::test]
async fn sp_initiated_logout_ends_the_session() {
    let server = TestServer::start().await;
    register(&server).await;
    user(&server, "ada").await;
    let browser = Browser::new(&server.url("")).unwrap();
    let url = sso_url(&server, &authn_request("_in", ACS), None, None);
    let (response, _) = posted(
        &browser
            .walk(&url, Some(("ada", PASSWORD)), Consent::Allow)
            .await
            .unwrap(),
    );
    let session_index = attr_of(&response, "AuthnStatement", "SessionIndex").unwrap();
    let name_id = text_of(&response, "NameID");
    let logout = Element::new("samlp", SAMLP, "LogoutRequest")
        .attr("ID", "_logout-1")
        .attr("Version", "2.0")
        .attr("IssueInstant", "2023-11-14T22:13:20Z")
        .child(Element::new("saml", SAML, "Issuer").text(SP))
        .child(Element::new("saml", SAML, "NameID").text(name_id))
        .child(Element::new("samlp", SAMLP, "SessionIndex").text(session_index));
    let url = redirect_url(
        &server.url("/saml/slo"),
        Kind::Request,
        &logout.canonical(),
        Some("bye"),
        None,
    )
    .unwrap();
    let landing = browser.walk(&url, None, Consent::Allow).await.unwrap();
    let Landing::Client(location) = landing else {
        panic!("{landing:?}")
    };
    assert!(location.starts_with(SLO), "{location}");
    let message = RedirectMessage::decode(location.split_once('?').unwrap().1).unwrap();
    assert_eq!(message.relay_state.as_deref(), Some("bye"));
    let certificate = idp_certificate(&server).await;
    message
        .verify(&[RsaPublicKey::from_certificate(&certificate).unwrap()])
        .unwrap();
    assert!(
        message.xml.contains("InResponseTo=\"_logout-1\""),
        "{}",
        message.xml
    );
    assert!(message.xml.contains(gatehouse_saml::status::SUCCESS));
    // The session is over: a new request asks for the password.
    let url = sso_url(&server, &authn_request("_after", ACS), None, None);
    let landing = browser.walk(&url, None, Consent::Allow).await.unwrap();
    assert!(
        matches!(&landing, Landing::Page(200, html) if html.contains("name=\"password\"")),
        "{landing:?}"
    );
    // The same LogoutRequest again is a replay.
    let replay = browser
        .walk(
            &redirect_url(
                &server.url("/saml/slo"),
                Kind::Request,
                &logout.canonical(),
                None,
                None,
            )
            .unwrap(),
            None,
            Consent::Allow,
        )
        .await
        .unwrap();
    assert!(matches!(&replay, Landing::Page(400, _)), "{replay:?}");
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `xmlsec1 --verify` of both signatures, as pysaml2 runs it; skipped with
/// a note when xmlsec1 is missing, unless `GATEHOUSE_REQUIRE_XMLSEC=1`.
fn xmlsec1_verifies(response: &str, certificate: &[u8]) {
    if Command::new("xmlsec1").arg("--version").output().is_err() {
        assert_ne!(
            std::env::var("GATEHOUSE_REQUIRE_XMLSEC").as_deref(),
            Ok("1"),
            "xmlsec1 is required but not installed"
        );
        eprintln!("note: xmlsec1 is not installed; skipping the independent check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("response.xml");
    let cert = dir.path().join("idp.pem");
    std::fs::write(&doc, response).unwrap();
    std::fs::File::create(&cert)
        .unwrap()
        .write_all(x509::pem(certificate).as_bytes())
        .unwrap();
    for (node, xpath) in [
        (
            "urn:oasis:names:tc:SAML:2.0:protocol:Response",
            "/*[local-name()='Response']/*[local-name()='Signature']",
        ),
        (
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
            "//*[local-name()='Assertion']/*[local-name()='Signature']",
        ),
    ] {
        let status = Command::new("xmlsec1")
            .args([
                "--verify",
                "--enabled-reference-uris",
                "empty,same-doc",
                "--enabled-key-data",
                "raw-x509-cert",
            ])
            .arg("--pubkey-cert-pem")
            .arg(&cert)
            .args(["--id-attr:ID", node, "--node-xpath", xpath])
            .arg(&doc)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "xmlsec1: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
}

/// Metadata publishes the next key's certificate before a rotation; after
/// it, that certificate signs, and the retired one is still listed.
#[tokio::test]
async fn rotation_promotes_the_published_next_certificate() {
    use gatehouse_core::model::Algorithm;
    use gatehouse_core::services::{AdminPrincipal, RequestContext};
    let server = TestServer::start().await;
    register(&server).await;
    user(&server, "ada").await;
    let certificates = |metadata: String| -> Vec<Vec<u8>> {
        let doc = xml::parse(&metadata).unwrap();
        doc.descendants()
            .filter(|n| n.tag_name().name() == "X509Certificate")
            .map(|n| STANDARD.decode(xml::text(n)).unwrap())
            .collect()
    };
    let metadata_url = server.url("/saml/metadata");
    let before = certificates(
        server
            .client()
            .get(&metadata_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(before.len(), 2, "active and next");
    server
        .services
        .keys
        .rotate(
            &AdminPrincipal::cli(),
            &RequestContext::default(),
            Some(Algorithm::RS256),
        )
        .await
        .unwrap();
    let after = certificates(
        server
            .client()
            .get(&metadata_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(after[0], before[1], "the former next key signs now");
    assert_eq!(after.len(), 3, "active, next and the recently retired key");
    assert_eq!(after[2], before[0], "the retired key stays published");
    let browser = Browser::new(&server.url("")).unwrap();
    let url = sso_url(&server, &authn_request("_rot", ACS), None, None);
    let (response, _) = posted(
        &browser
            .walk(&url, Some(("ada", PASSWORD)), Consent::Allow)
            .await
            .unwrap(),
    );
    verify_signed(&response, &before[1]);
}

// ------------------------------------------------ RequestedAuthnContext

/// The TOTP code for the secret in `otpauth_uri` at the server's fake clock
/// (computed independently with `totp-rs`, as `tests/mfa.rs` does).
fn totp_code(server: &TestServer, otpauth_uri: &str) -> String {
    use gatehouse_core::clock::Clock as _;
    let url = url::Url::parse(otpauth_uri).unwrap();
    let secret = url
        .query_pairs()
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let bytes = totp_rs::Secret::try_from_base32(&secret).unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(bytes.as_bytes().to_vec())
        .build()
        .unwrap();
    let now = server.clock.now_millis() / 1000;
    totp.generate(u64::try_from(now).unwrap()).to_string()
}

/// Enrols and activates TOTP for the user through the admin API; the clock
/// moves a step on so the sign-in code is a fresh one.
async fn active_totp(server: &TestServer, user_id: &str) -> String {
    let enrolled = common::json(
        server
            .admin()
            .post(&format!("/api/v1/users/{user_id}/factors"))
            .json(&json!({ "type": "totp" }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let uri = enrolled["otpauth_uri"].as_str().unwrap().to_owned();
    let factor = enrolled["id"].as_str().unwrap();
    common::json(
        server
            .admin()
            .post(&format!(
                "/api/v1/users/{user_id}/factors/{factor}/activate"
            ))
            .json(&json!({ "code": totp_code(server, &uri) }))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    server.clock.advance_secs(30);
    uri
}

fn with_context(request: Element, comparison: &str, classes: &[&str]) -> Element {
    let mut context =
        Element::new("samlp", SAMLP, "RequestedAuthnContext").attr("Comparison", comparison);
    for class in classes {
        context = context.child(Element::new("saml", SAML, "AuthnContextClassRef").text(*class));
    }
    request.child(context)
}

fn second_status(response: &str) -> Option<String> {
    let doc = xml::parse(response).unwrap();
    doc.descendants()
        .filter(|n| n.tag_name().name() == "StatusCode")
        .nth(1)
        .and_then(|n| n.attribute("Value").map(str::to_owned))
}

fn factor_page(landing: Landing) -> String {
    match landing {
        Landing::Page(200, html) if html.contains("name=\"otp\"") => html,
        other => panic!("expected the second-factor page, got {other:?}"),
    }
}

/// An AuthnRequest asking for REFEDS MFA makes the hosted sign-in ask for
/// the TOTP code after the password; the assertion then names that class.
/// A password session is stepped up; IsPassive cannot be; a user with no
/// factor enrols one in the step; a class nothing here satisfies (or a user
/// with no factor where enrolling at sign-in is off) gets NoAuthnContext.
async fn requested_authn_context_steps_up_to_totp(server: TestServer) {
    use gatehouse_saml::authn_context::{PASSWORD_PROTECTED, REFEDS_MFA};
    register(&server).await;
    let ada = user(&server, "ada").await;
    let uri = active_totp(&server, ada["id"].as_str().unwrap()).await;
    let certificate = idp_certificate(&server).await;

    // A password-only sign-in reports PasswordProtectedTransport.
    let browser = Browser::new(&server.url("")).unwrap();
    let url = sso_url(&server, &authn_request("_pwd", ACS), None, None);
    let (response, _) = posted(
        &browser
            .walk(&url, Some(("ada", PASSWORD)), Consent::Allow)
            .await
            .unwrap(),
    );
    assert_eq!(
        text_of(&response, "AuthnContextClassRef"),
        PASSWORD_PROTECTED
    );

    // IsPassive with a class only a second factor meets: NoPassive.
    let passive = with_context(
        authn_request("_passive-mfa", ACS).attr("IsPassive", "true"),
        "minimum",
        &[REFEDS_MFA],
    );
    let (response, _) = posted(
        &browser
            .walk(
                &sso_url(&server, &passive, None, None),
                None,
                Consent::Allow,
            )
            .await
            .unwrap(),
    );
    assert_eq!(
        second_status(&response).as_deref(),
        Some(gatehouse_saml::status::NO_PASSIVE)
    );
    assert!(!response.contains("Assertion"), "{response}");

    // The same password session, asked for MFA: stepped up with TOTP.
    let mfa = with_context(authn_request("_mfa", ACS), "exact", &[REFEDS_MFA]);
    let page = factor_page(
        browser
            .walk(
                &sso_url(&server, &mfa, Some("rs"), None),
                None,
                Consent::Allow,
            )
            .await
            .unwrap(),
    );
    let posted_form = browser
        .fill(&page, &[("otp", &totp_code(&server, &uri))])
        .await
        .unwrap();
    let landing = browser
        .follow(posted_form, None, Consent::Allow)
        .await
        .unwrap();
    let (response, relay_state) = posted(&landing);
    assert_eq!(relay_state.as_deref(), Some("rs"));
    verify_signed(&response, &certificate);
    assert_eq!(
        attr_of(&response, "Response", "InResponseTo").as_deref(),
        Some("_mfa")
    );
    assert_eq!(text_of(&response, "AuthnContextClassRef"), REFEDS_MFA);

    // Microsoft's class, asked of the now multi-factor session: no prompt.
    let ms = with_context(
        authn_request("_ms", ACS),
        "exact",
        &["http://schemas.microsoft.com/claims/multipleauthn"],
    );
    let (response, _) = posted(
        &browser
            .walk(&sso_url(&server, &ms, None, None), None, Consent::Allow)
            .await
            .unwrap(),
    );
    assert_eq!(
        text_of(&response, "AuthnContextClassRef"),
        "http://schemas.microsoft.com/claims/multipleauthn"
    );

    // A fresh browser, asking up front: password, then TOTP.
    server.clock.advance_secs(30);
    let fresh = Browser::new(&server.url("")).unwrap();
    let better = with_context(
        authn_request("_better", ACS),
        "better",
        &[PASSWORD_PROTECTED],
    );
    let page = factor_page(
        fresh
            .walk(
                &sso_url(&server, &better, None, None),
                Some(("ada", PASSWORD)),
                Consent::Allow,
            )
            .await
            .unwrap(),
    );
    let posted_form = fresh
        .fill(&page, &[("otp", &totp_code(&server, &uri))])
        .await
        .unwrap();
    let (response, _) = posted(
        &fresh
            .follow(posted_form, None, Consent::Allow)
            .await
            .unwrap(),
    );
    assert_eq!(text_of(&response, "AuthnContextClassRef"), REFEDS_MFA);

    // A class nothing here satisfies: NoAuthnContext at the ACS.
    let x509 = with_context(
        authn_request("_x509", ACS),
        "exact",
        &["urn:oasis:names:tc:SAML:2.0:ac:classes:X509"],
    );
    let (response, _) = posted(
        &fresh
            .walk(&sso_url(&server, &x509, None, None), None, Consent::Allow)
            .await
            .unwrap(),
    );
    assert_eq!(
        second_status(&response).as_deref(),
        Some(gatehouse_saml::status::NO_AUTHN_CONTEXT)
    );

    // A user with no factor enrols TOTP in the step (the default policy
    // lets them), then gets the assertion.
    user(&server, "bob").await;
    let nofactor = Browser::new(&server.url("")).unwrap();
    let mfa = with_context(authn_request("_bob", ACS), "minimum", &[REFEDS_MFA]);
    let page = factor_page(
        nofactor
            .walk(
                &sso_url(&server, &mfa, None, None),
                Some(("bob", PASSWORD)),
                Consent::Allow,
            )
            .await
            .unwrap(),
    );
    assert!(page.contains("<svg"), "the enrolment QR code is inline");
    let key = page
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let bob_uri = format!("otpauth://totp/Gatehouse:bob?secret={key}");
    let codes = nofactor
        .fill(&page, &[("otp", &totp_code(&server, &bob_uri))])
        .await
        .unwrap();
    assert_eq!(codes.status(), 200);
    // The new recovery codes are shown once; "Continue" resumes the SSO.
    let codes = codes.text().await.unwrap();
    assert!(codes.contains("recovery codes"), "{codes}");
    let resume = codes
        .split("href=\"")
        .find(|rest| rest.starts_with("&#x2f;saml&#x2f;sso&#x2f;resume"))
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&#x2f;", "/");
    let (response, _) = posted(
        &nofactor
            .walk(&server.url(&resume), None, Consent::Allow)
            .await
            .unwrap(),
    );
    assert_eq!(text_of(&response, "AuthnContextClassRef"), REFEDS_MFA);

    // Where the org's policy forbids enrolling at sign-in, a user with no
    // factor cannot be stepped up: NoAuthnContext.
    common::json(
        server
            .admin()
            .put(&format!(
                "/api/v1/orgs/{}/signon-policy",
                gatehouse_core::ids::OrgId::DEFAULT
            ))
            .json(&json!({ "second_factor": "never", "enrol_at_sign_in": false }))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    user(&server, "cy").await;
    let nofactor = Browser::new(&server.url("")).unwrap();
    let mfa = with_context(authn_request("_cy", ACS), "minimum", &[REFEDS_MFA]);
    let (response, _) = posted(
        &nofactor
            .walk(
                &sso_url(&server, &mfa, None, None),
                Some(("cy", PASSWORD)),
                Consent::Allow,
            )
            .await
            .unwrap(),
    );
    assert_eq!(
        second_status(&response).as_deref(),
        Some(gatehouse_saml::status::NO_AUTHN_CONTEXT)
    );
}

/// The SP's own sign-on policy (like a client's) demands the second factor
/// even when the request asks for nothing.
async fn service_provider_policy_demands_totp(server: TestServer) {
    let sp = register(&server).await;
    let ada = user(&server, "ada").await;
    let uri = active_totp(&server, ada["id"].as_str().unwrap()).await;
    let id = sp["id"].as_str().unwrap();
    let path = format!("/api/v1/saml/service-providers/{id}/signon-policy");
    common::json(
        server
            .admin()
            .put(&path)
            .json(&json!({ "second_factor": "always" }))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let browser = Browser::new(&server.url("")).unwrap();
    let url = sso_url(&server, &authn_request("_policy", ACS), None, None);
    let page = factor_page(
        browser
            .walk(&url, Some(("ada", PASSWORD)), Consent::Allow)
            .await
            .unwrap(),
    );
    let posted_form = browser
        .fill(&page, &[("otp", &totp_code(&server, &uri))])
        .await
        .unwrap();
    let (response, _) = posted(
        &browser
            .follow(posted_form, None, Consent::Allow)
            .await
            .unwrap(),
    );
    assert_eq!(
        text_of(&response, "AuthnContextClassRef"),
        gatehouse_saml::authn_context::REFEDS_MFA
    );
    common::empty(server.admin().delete(&path).send().await.unwrap(), 204).await;
    common::problem(server.admin().get(&path).send().await.unwrap(), 404).await;
}

// ------------------------------------------------ encryption, assignment, bindings

/// An SP with an encryption certificate and `encrypt_assertions` gets an
/// `EncryptedAssertion` (AES-256-GCM by default, AES-128-CBC on request)
/// that `xmlsec1 --decrypt` opens with the SP's private key; the assertion
/// inside carries its own verifying signature.
async fn encrypted_assertions_for_an_sp_with_an_encryption_key(server: TestServer) {
    let sp = register(&server).await;
    let id = sp["id"].as_str().unwrap();
    user(&server, "ada").await;
    let key = SpKey::generate();
    let patch = |value: Value| {
        let server = &server;
        async move {
            server
                .admin()
                .patch(&format!("/api/v1/saml/service-providers/{id}"))
                .json(&value)
                .send()
                .await
                .unwrap()
        }
    };
    // Encryption without a certificate is refused.
    common::problem(patch(json!({ "encrypt_assertions": true })).await, 422).await;
    common::problem(
        patch(json!({ "encryption_method": "http://www.w3.org/2001/04/xmlenc#tripledes-cbc" }))
            .await,
        422,
    )
    .await;
    let patched = common::json(
        patch(json!({
            "encrypt_assertions": true,
            "encryption_certificates": [STANDARD.encode(&key.certificate)],
        }))
        .await,
        200,
    )
    .await;
    assert_eq!(
        patched["encryption_method"],
        "http://www.w3.org/2009/xmlenc11#aes256-gcm"
    );
    let certificate = idp_certificate(&server).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let url = sso_url(&server, &authn_request("_enc", ACS), None, None);
    let (response, _) = posted(
        &browser
            .walk(&url, Some(("ada", PASSWORD)), Consent::Allow)
            .await
            .unwrap(),
    );
    assert!(response.contains("EncryptedAssertion"), "{response}");
    assert!(response.contains("xmlenc11#aes256-gcm"), "{response}");
    assert!(response.contains("xmlenc#rsa-oaep-mgf1p"), "{response}");
    assert!(!response.contains("ada@example.com"), "{response}");
    let key_pem = pkcs8_pem(&key);
    verify_response_signature(&response, &certificate);
    if let Some(decrypted) = xmlsec1_decrypts(&response, &key_pem) {
        assert!(decrypted.contains("ada@example.com"), "{decrypted}");
        verify_assertion_signature(&decrypted, &certificate);
    }

    common::json(
        patch(json!({ "encryption_method": "http://www.w3.org/2001/04/xmlenc#aes128-cbc" })).await,
        200,
    )
    .await;
    let url = sso_url(&server, &authn_request("_enc-cbc", ACS), None, None);
    let (response, _) = posted(&browser.walk(&url, None, Consent::Allow).await.unwrap());
    assert!(response.contains("xmlenc#aes128-cbc"), "{response}");
    verify_response_signature(&response, &certificate);
    if let Some(decrypted) = xmlsec1_decrypts(&response, &key_pem) {
        verify_assertion_signature(&decrypted, &certificate);
    }
}

/// The Response's own signature (it covers the encrypted assertion).
fn verify_response_signature(response: &str, certificate: &[u8]) {
    let key = RsaPublicKey::from_certificate(certificate).unwrap();
    let doc = xml::parse(response).unwrap();
    dsig::verify_enveloped(&doc, doc.root_element(), &[key]).unwrap();
}

/// The decrypted Assertion's own signature.
fn verify_assertion_signature(decrypted: &str, certificate: &[u8]) {
    let key = RsaPublicKey::from_certificate(certificate).unwrap();
    let doc = xml::parse(decrypted).unwrap();
    let assertion = doc
        .descendants()
        .find(|n| xml::is(*n, SAML, "Assertion"))
        .unwrap();
    dsig::verify_enveloped(&doc, assertion, &[key]).unwrap();
}

fn pkcs8_pem(key: &SpKey) -> String {
    let body = STANDARD.encode(key.pair.as_der().unwrap().as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// `xmlsec1 --decrypt` with the SP's key; `None` (with a note) when xmlsec1
/// is missing, unless `GATEHOUSE_REQUIRE_XMLSEC=1`.
fn xmlsec1_decrypts(response: &str, key_pem: &str) -> Option<String> {
    if Command::new("xmlsec1").arg("--version").output().is_err() {
        assert_ne!(
            std::env::var("GATEHOUSE_REQUIRE_XMLSEC").as_deref(),
            Ok("1"),
            "xmlsec1 is required but not installed"
        );
        eprintln!("note: xmlsec1 is not installed; skipping the independent decryption");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("response.xml");
    let key = dir.path().join("sp.pem");
    std::fs::write(&doc, response).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    let output = Command::new("xmlsec1")
        .arg("--decrypt")
        .arg("--privkey-pem")
        .arg(&key)
        .arg(&doc)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "xmlsec1 --decrypt: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap())
}

/// With `assignment_required`, only assigned users (directly or through a
/// group) get an assertion; others get `RequestDenied` (SP-initiated) or a
/// page (IdP-initiated). Assignments are audited.
async fn assignment_required_denies_unassigned_users(server: TestServer) {
    let sp = register(&server).await;
    let id = sp["id"].as_str().unwrap();
    let ada = user(&server, "ada").await;
    let bob = user(&server, "bob").await;
    user(&server, "eve").await;
    let staff = server
        .admin()
        .create("/api/v1/groups", json!({ "name": "staff" }))
        .await;
    let (gid, ada_id, bob_id) = (
        staff["id"].as_str().unwrap(),
        ada["id"].as_str().unwrap(),
        bob["id"].as_str().unwrap(),
    );
    let r = server
        .admin()
        .put(&format!("/api/v1/groups/{gid}/members/{bob_id}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    common::json(
        server
            .admin()
            .patch(&format!("/api/v1/saml/service-providers/{id}"))
            .json(&json!({ "assignment_required": true }))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let base = format!("/api/v1/saml/service-providers/{id}/assignments");
    for path in [
        format!("{base}/users/{ada_id}"),
        format!("{base}/groups/{gid}"),
    ] {
        for _ in 0..2 {
            common::empty(server.admin().put(&path).send().await.unwrap(), 204).await;
        }
    }
    common::problem(
        server
            .admin()
            .put(&format!(
                "{base}/users/00000000-0000-7000-8000-00000000dead"
            ))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let listed = common::json(server.admin().get(&base).send().await.unwrap(), 200).await;
    assert_eq!(
        listed["items"],
        json!([{ "type": "user", "id": ada_id }, { "type": "group", "id": gid }])
    );

    for (name, allowed) in [("ada", true), ("bob", true), ("eve", false)] {
        let browser = Browser::new(&server.url("")).unwrap();
        let request_id = format!("_as-{name}");
        let url = sso_url(&server, &authn_request(&request_id, ACS), None, None);
        let (response, _) = posted(
            &browser
                .walk(&url, Some((name, PASSWORD)), Consent::Allow)
                .await
                .unwrap(),
        );
        if allowed {
            assert!(response.contains("<saml:Assertion"), "{name}: {response}");
        } else {
            assert_eq!(
                second_status(&response).as_deref(),
                Some(gatehouse_saml::status::REQUEST_DENIED),
                "{response}"
            );
            assert!(!response.contains("Assertion"), "{response}");
            // IdP-initiated: a clear page, nothing posted.
            let url = format!("{}?sp={}", server.url("/saml/sso"), urlencode(SP));
            let landing = browser.walk(&url, None, Consent::Allow).await.unwrap();
            assert!(
                matches!(&landing, Landing::Page(403, html) if html.contains("not assigned")),
                "{landing:?}"
            );
        }
    }

    // Removing the group's assignment: bob is out.
    common::empty(
        server
            .admin()
            .delete(&format!("{base}/groups/{gid}"))
            .send()
            .await
            .unwrap(),
        204,
    )
    .await;
    common::problem(
        server
            .admin()
            .delete(&format!("{base}/groups/{gid}"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let browser = Browser::new(&server.url("")).unwrap();
    let url = sso_url(&server, &authn_request("_as-bob-2", ACS), None, None);
    let (response, _) = posted(
        &browser
            .walk(&url, Some(("bob", PASSWORD)), Consent::Allow)
            .await
            .unwrap(),
    );
    assert_eq!(
        second_status(&response).as_deref(),
        Some(gatehouse_saml::status::REQUEST_DENIED)
    );
    let query = gatehouse_core::model::AuditQuery {
        target_id: Some(id.to_owned()),
        limit: 1000,
        ..gatehouse_core::model::AuditQuery::default()
    };
    let events = server.services.store().list_audit(&query).await.unwrap();
    let actions: Vec<&str> = events.items.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "service_provider.assignment_added",
        "service_provider.assignment_removed",
        "saml.not_assigned",
    ] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
}

/// An ACS on HTTP-Redirect is refused with a 400 that says why, from JSON
/// and from metadata (SAML 2.0 Profiles §4.1.2).
#[tokio::test]
async fn redirect_binding_acs_is_a_400() {
    let server = TestServer::start().await;
    let response = server
        .admin()
        .post("/api/v1/saml/service-providers")
        .json(&json!({
            "entity_id": "urn:redirect",
            "assertion_consumer_services": [{
                "location": "https://sp.example.com/acs",
                "binding": gatehouse_saml::bindings::REDIRECT,
            }],
        }))
        .send()
        .await
        .unwrap();
    let problem = common::problem(response, 400).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("HTTP-Redirect"),
        "{problem}"
    );
    let metadata = sp_metadata(None, false).replace(
        "<md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\"",
        "<md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\"",
    );
    let problem = common::problem(register_xml(&server, &metadata).await, 400).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("HTTP-Redirect"),
        "{problem}"
    );
}

// ------------------------------------------------ single logout across SPs

const SP2: &str = "https://sp2.example.com/metadata";
const ACS2: &str = "https://sp2.example.com/acs";
const SLO2: &str = "https://sp2.example.com/slo";

/// A second SP whose single logout service takes the POST binding.
async fn register_second(server: &TestServer) {
    common::json(
        server
            .admin()
            .post("/api/v1/saml/service-providers")
            .json(&json!({
                "entity_id": SP2,
                "name": "Second app",
                "assertion_consumer_services": [{ "location": ACS2 }],
                "single_logout_service": {
                    "location": SLO2,
                    "binding": gatehouse_saml::bindings::POST,
                },
            }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
}

fn request_from(issuer: &str, id: &str, acs: &str) -> Element {
    Element::new("samlp", SAMLP, "AuthnRequest")
        .attr("ID", id)
        .attr("Version", "2.0")
        .attr("IssueInstant", "2023-11-14T22:13:20Z")
        .attr("AssertionConsumerServiceURL", acs)
        .child(Element::new("saml", SAML, "Issuer").text(issuer))
}

/// The SAMLResponse (XML) an auto-POST page carries.
fn response_field(landing: &Landing) -> String {
    let Landing::Page(200, html) = landing else {
        panic!("no auto-POST page: {landing:?}")
    };
    let fields = hidden_fields(html);
    let value = fields
        .iter()
        .find(|(k, _)| k == "SAMLResponse")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no SAMLResponse: {html}"));
    String::from_utf8(STANDARD.decode(value).unwrap()).unwrap()
}

/// Signs in to both SPs with one browser; the SessionIndex each got.
async fn signed_in_to_both(server: &TestServer, browser: &Browser, tag: &str) -> (String, String) {
    let url = sso_url(
        server,
        &request_from(SP, &format!("_a{tag}"), ACS),
        None,
        None,
    );
    let first = response_field(
        &browser
            .walk(&url, Some(("ada", PASSWORD)), Consent::Allow)
            .await
            .unwrap(),
    );
    // SP 2 joins the session after SP 1 (the chain's order).
    server.clock.advance_secs(1);
    let url = sso_url(
        server,
        &request_from(SP2, &format!("_b{tag}"), ACS2),
        None,
        None,
    );
    let second = response_field(&browser.walk(&url, None, Consent::Allow).await.unwrap());
    (
        attr_of(&first, "AuthnStatement", "SessionIndex").unwrap(),
        attr_of(&second, "AuthnStatement", "SessionIndex").unwrap(),
    )
}

fn unescape_html(value: &str) -> String {
    value
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn link(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\" href=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id}: {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    unescape_html(&html[start..end])
}

/// The LogoutRequest a step page carries to SP2 (POST binding): verified
/// with the IdP's certificate; its XML.
fn logout_request_to_sp2(landing: &Landing, certificate: &[u8]) -> (String, String) {
    let Landing::Page(200, html) = landing else {
        panic!("no logout step page: {landing:?}")
    };
    assert!(html.contains("Second app"), "{html}");
    let action = format!("action=\"{}\"", SLO2.replace('/', "&#x2f;"));
    assert!(html.contains(&action), "{html}");
    let fields = hidden_fields(html);
    let message = fields
        .iter()
        .find(|(k, _)| k == "SAMLRequest")
        .map(|(_, v)| v.clone())
        .unwrap();
    let xml = String::from_utf8(STANDARD.decode(message).unwrap()).unwrap();
    dsig::verify_root(
        &xml,
        &[RsaPublicKey::from_certificate(certificate).unwrap()],
    )
    .unwrap();
    (xml, html.clone())
}

fn logout_response_from(issuer: &str, in_response_to: &str, status: &str) -> Element {
    Element::new("samlp", SAMLP, "LogoutResponse")
        .attr("ID", format!("_resp-{in_response_to}"))
        .attr("Version", "2.0")
        .attr("IssueInstant", "2023-11-14T22:13:20Z")
        .attr("InResponseTo", in_response_to)
        .child(Element::new("saml", SAML, "Issuer").text(issuer))
        .child(
            Element::new("samlp", SAMLP, "Status")
                .child(Element::new("samlp", SAMLP, "StatusCode").attr("Value", status)),
        )
}

/// SP-initiated logout from SP 1 also logs the user out of SP 2 on the
/// front channel (a signed LogoutRequest on SP 2's POST binding); SP 2's
/// LogoutResponse continues the chain to SP 1's LogoutResponse. An SP that
/// does not answer is skipped with the page's link, and SP 1 hears
/// `PartialLogout`. A replayed LogoutResponse does nothing.
async fn sp_initiated_logout_reaches_the_other_sps(server: TestServer) {
    register(&server).await;
    register_second(&server).await;
    let ada = user(&server, "ada").await;
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    let certificate = idp_certificate(&server).await;
    for (tag, answer) in [("1", true), ("2", false)] {
        let browser = Browser::new(&server.url("")).unwrap();
        let (index1, index2) = signed_in_to_both(&server, &browser, tag).await;
        let logout = Element::new("samlp", SAMLP, "LogoutRequest")
            .attr("ID", format!("_lo{tag}"))
            .attr("Version", "2.0")
            .attr("IssueInstant", "2023-11-14T22:13:20Z")
            .child(Element::new("saml", SAML, "Issuer").text(SP))
            .child(Element::new("saml", SAML, "NameID").text(ada_id.clone()))
            .child(Element::new("samlp", SAMLP, "SessionIndex").text(index1));
        let url = redirect_url(
            &server.url("/saml/slo"),
            Kind::Request,
            &logout.canonical(),
            Some("rs"),
            None,
        )
        .unwrap();
        let step = browser.walk(&url, None, Consent::Allow).await.unwrap();
        let (request, html) = logout_request_to_sp2(&step, &certificate);
        assert_eq!(text_of(&request, "SessionIndex"), index2);
        assert_eq!(
            attr_of(&request, "LogoutRequest", "Destination").as_deref(),
            Some(SLO2)
        );
        let request_id = attr_of(&request, "LogoutRequest", "ID").unwrap();
        let last = if answer {
            let response = logout_response_from(SP2, &request_id, gatehouse_saml::status::SUCCESS);
            let form = [(
                "SAMLResponse".to_owned(),
                STANDARD.encode(response.canonical()),
            )];
            let replay = form.clone();
            let last = browser.post_form("/saml/slo", &form).await.unwrap();
            // The same response again: no chain awaits it any more.
            let again = browser.post_form("/saml/slo", &replay).await.unwrap();
            assert_eq!(again.status(), 200);
            assert!(again.text().await.unwrap().contains("signed out"));
            last
        } else {
            let skip = link(&html, "skip");
            assert!(skip.starts_with("/saml/slo/continue?chain="), "{skip}");
            browser
                .client()
                .get(server.url(&skip))
                .send()
                .await
                .unwrap()
        };
        assert_eq!(last.status(), 302);
        let location = last.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(SLO), "{location}");
        let message = RedirectMessage::decode(location.split_once('?').unwrap().1).unwrap();
        message
            .verify(&[RsaPublicKey::from_certificate(&certificate).unwrap()])
            .unwrap();
        assert_eq!(message.relay_state.as_deref(), Some("rs"));
        assert!(message.xml.contains(&format!("InResponseTo=\"_lo{tag}\"")));
        assert!(message.xml.contains(gatehouse_saml::status::SUCCESS));
        assert_eq!(
            message.xml.contains(gatehouse_saml::status::PARTIAL_LOGOUT),
            !answer,
            "{}",
            message.xml
        );
    }
}

/// IdP-initiated: signing out at `/oauth2/logout` sends LogoutRequests to
/// every SAML SP of the session (SP 1 on Redirect, SP 2 on POST), each
/// continuing when its LogoutResponse comes back, then the signed-out page.
async fn idp_initiated_logout_reaches_every_sp(server: TestServer) {
    register(&server).await;
    register_second(&server).await;
    user(&server, "ada").await;
    let certificate = idp_certificate(&server).await;
    let idp_key = [RsaPublicKey::from_certificate(&certificate).unwrap()];
    let browser = Browser::new(&server.url("")).unwrap();
    let (index1, index2) = signed_in_to_both(&server, &browser, "i").await;
    let confirm = match browser
        .walk(&server.url("/oauth2/logout"), None, Consent::Allow)
        .await
        .unwrap()
    {
        Landing::Page(200, html) if html.contains("Sign out?") => html,
        other => panic!("{other:?}"),
    };
    let response = browser.fill(&confirm, &[("confirm", "yes")]).await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    // SP 1 first (it joined first): the Redirect binding, a link.
    let next = link(&html, "next");
    assert!(next.starts_with(SLO), "{next}");
    let message = RedirectMessage::decode(next.split_once('?').unwrap().1).unwrap();
    message.verify(&idp_key).unwrap();
    assert_eq!(text_of(&message.xml, "SessionIndex"), index1);
    let request_id = attr_of(&message.xml, "LogoutRequest", "ID").unwrap();
    let answer = redirect_url(
        &server.url("/saml/slo"),
        Kind::Response,
        &logout_response_from(SP, &request_id, gatehouse_saml::status::SUCCESS).canonical(),
        None,
        None,
    )
    .unwrap();
    let step = browser.walk(&answer, None, Consent::Allow).await.unwrap();
    let (request, _) = logout_request_to_sp2(&step, &certificate);
    assert_eq!(text_of(&request, "SessionIndex"), index2);
    let request_id = attr_of(&request, "LogoutRequest", "ID").unwrap();
    let form = [(
        "SAMLResponse".to_owned(),
        STANDARD.encode(
            logout_response_from(SP2, &request_id, gatehouse_saml::status::SUCCESS).canonical(),
        ),
    )];
    let done = browser.post_form("/saml/slo", &form).await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("signed out"));
    // The session is over.
    let url = sso_url(&server, &authn_request("_after-idp", ACS), None, None);
    let landing = browser.walk(&url, None, Consent::Allow).await.unwrap();
    assert!(
        matches!(&landing, Landing::Page(200, html) if html.contains("name=\"password\"")),
        "{landing:?}"
    );
}

// ------------------------------------------------ on both engines

#[tokio::test]
async fn requested_authn_context_steps_up_to_totp_sqlite() {
    requested_authn_context_steps_up_to_totp(TestServer::start().await).await;
}

#[tokio::test]
async fn requested_authn_context_steps_up_to_totp_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    requested_authn_context_steps_up_to_totp(server).await;
}

#[tokio::test]
async fn service_provider_policy_demands_totp_sqlite() {
    service_provider_policy_demands_totp(TestServer::start().await).await;
}

#[tokio::test]
async fn service_provider_policy_demands_totp_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    service_provider_policy_demands_totp(server).await;
}

#[tokio::test]
async fn encrypted_assertions_for_an_sp_with_an_encryption_key_sqlite() {
    encrypted_assertions_for_an_sp_with_an_encryption_key(TestServer::start().await).await;
}

#[tokio::test]
async fn encrypted_assertions_for_an_sp_with_an_encryption_key_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    encrypted_assertions_for_an_sp_with_an_encryption_key(server).await;
}

#[tokio::test]
async fn assignment_required_denies_unassigned_users_sqlite() {
    assignment_required_denies_unassigned_users(TestServer::start().await).await;
}

#[tokio::test]
async fn assignment_required_denies_unassigned_users_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    assignment_required_denies_unassigned_users(server).await;
}

#[tokio::test]
async fn sp_initiated_logout_reaches_the_other_sps_sqlite() {
    sp_initiated_logout_reaches_the_other_sps(TestServer::start().await).await;
}

#[tokio::test]
async fn sp_initiated_logout_reaches_the_other_sps_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    sp_initiated_logout_reaches_the_other_sps(server).await;
}

#[tokio::test]
async fn idp_initiated_logout_reaches_every_sp_sqlite() {
    idp_initiated_logout_reaches_every_sp(TestServer::start().await).await;
}

#[tokio::test]
async fn idp_initiated_logout_reaches_every_sp_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    idp_initiated_logout_reaches_every_sp(server).await;
}

/// Across OIDC and SAML: a browser signed in to an OIDC client and a SAML
/// SP; the client's RP-initiated logout (`id_token_hint`,
/// `post_logout_redirect_uri`) first sends the SP its LogoutRequest, and its
/// LogoutResponse leads on to the client's `post_logout_redirect_uri`.
#[tokio::test]
async fn oidc_logout_reaches_the_saml_sp_before_the_redirect() {
    use openidconnect::TokenResponse as _;
    let server = TestServer::start().await;
    register(&server).await;
    user(&server, "ada").await;
    let browser = Browser::new(&server.url("")).unwrap();
    let (client_id, secret) = common::rp::register(&server, json!({})).await;
    let rp = common::rp::discover(&server, &client_id, &secret).await;
    let started = common::rp::start(&rp, &["email"], &[]);
    let code = common::rp::sign_in(&browser, &started, "ada").await;
    let tokens = common::rp::exchange(&rp, &code, started.verifier).await;
    let id_token = tokens.id_token().unwrap().to_string();
    // The same SSO session signs in to the SAML SP without a password.
    let url = sso_url(&server, &authn_request("_oidc-saml", ACS), None, None);
    let (response, _) = posted(&browser.walk(&url, None, Consent::Allow).await.unwrap());
    let session_index = attr_of(&response, "AuthnStatement", "SessionIndex").unwrap();

    let url = format!(
        "{}?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye",
        server.url("/oauth2/logout"),
        urlencode("http://127.0.0.1:9/signed-out")
    );
    let Landing::Page(200, html) = browser.walk(&url, None, Consent::Allow).await.unwrap() else {
        panic!("no logout step page")
    };
    let next = link(&html, "next");
    let message = RedirectMessage::decode(next.split_once('?').unwrap().1).unwrap();
    let certificate = idp_certificate(&server).await;
    message
        .verify(&[RsaPublicKey::from_certificate(&certificate).unwrap()])
        .unwrap();
    assert_eq!(text_of(&message.xml, "SessionIndex"), session_index);
    let request_id = attr_of(&message.xml, "LogoutRequest", "ID").unwrap();
    let answer = redirect_url(
        &server.url("/saml/slo"),
        Kind::Response,
        &logout_response_from(SP, &request_id, gatehouse_saml::status::SUCCESS).canonical(),
        None,
        None,
    )
    .unwrap();
    let landing = browser.walk(&answer, None, Consent::Allow).await.unwrap();
    assert_eq!(
        landing,
        Landing::Client("http://127.0.0.1:9/signed-out?state=bye".into())
    );
}
