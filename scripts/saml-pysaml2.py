#!/usr/bin/env python3
"""End-to-end check of the SAML IdP with an independent SP library (pysaml2).

Starts `gatehouse serve` from the built binary on a free port with a fresh
SQLite data dir, registers a pysaml2 SP from its own metadata through the
admin API, and has pysaml2 complete SP-initiated SSO (Redirect binding in,
POST binding out, signatures checked by pysaml2 with xmlsec1) through the
hosted /login, with the assertion encrypted to the SP's encryption key
(AES-256-GCM, RSA-OAEP; pysaml2 decrypts it), then single logout; afterwards
the SSO session must be gone.

Then single logout across two pysaml2 SPs, both directions: SP 1's
LogoutRequest makes Gatehouse send a signed LogoutRequest to SP 2 (POST
binding), which pysaml2 handles and answers, and SP 1 gets the final
LogoutResponse; signing out at /oauth2/logout (IdP-initiated) sends
LogoutRequests to both SPs (Redirect, then POST) before the signed-out page.

Usage: saml-pysaml2.py <path to the gatehouse binary>
Run with the venv's python that has pysaml2 (see .ci/run).
"""
import html
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import requests
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string

TOKEN = "gha_pysaml2-e2e-bootstrap-token-0123456789"
PASSWORD = "correct-horse-battery-9"
SP_BASE = "http://127.0.0.1:9/sp"
SP2_BASE = "http://127.0.0.1:9/sp2"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, page)
    return html.unescape(m.group(1)) if m else None


def form_action(page):
    m = re.search(r'<form method="post" action="([^"]*)"', page)
    return html.unescape(m.group(1)) if m else None


def main():
    binary = sys.argv[1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    work = tempfile.mkdtemp(prefix="gatehouse-pysaml2-")
    env = dict(os.environ, GATEHOUSE_BOOTSTRAP_TOKEN=TOKEN)
    server = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--public-url", base,
         "--data-dir", os.path.join(work, "data")],
        env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "server.log"), "w"))
    try:
        for _ in range(100):
            try:
                if requests.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            sys.exit("the server did not become ready")
        run(base, work)
    finally:
        server.terminate()
        server.wait(timeout=10)


def run(base, work):
    admin = {"Authorization": f"Bearer {TOKEN}"}
    r = requests.post(base + "/api/v1/users", headers=admin, json={
        "username": "ada", "email": "ada@example.com", "password": PASSWORD, "given_name": "Ada"})
    assert r.status_code == 201, r.text

    idp_metadata = os.path.join(work, "idp.xml")
    with open(idp_metadata, "w") as f:
        f.write(requests.get(base + "/saml/metadata").text)
    key_file, cert_file = keypair(work, "sp1")
    config = SPConfig()
    config.load({
        "entityid": SP_BASE + "/metadata",
        "xmlsec_binary": "/usr/bin/xmlsec1",
        # The SP's encryption key pair: its certificate goes into the SP
        # metadata (KeyDescriptor use="encryption"); pysaml2 decrypts with it.
        "encryption_keypairs": [{"key_file": key_file, "cert_file": cert_file}],
        # Our attribute names are plain (NameFormat basic), not pysaml2's URN maps.
        "allow_unknown_attributes": True,
        "metadata": {"local": [idp_metadata]},
        "service": {"sp": {
            "endpoints": {
                "assertion_consumer_service": [(SP_BASE + "/acs", BINDING_HTTP_POST)],
                "single_logout_service": [(SP_BASE + "/slo", BINDING_HTTP_REDIRECT)],
            },
            "want_response_signed": True,
            "want_assertions_signed": True,
            "authn_requests_signed": False,
            "logout_requests_signed": False,
            "allow_unsolicited": False,
            "name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        }},
    })
    sp = Saml2Client(config)
    metadata = create_metadata_string(None, config=config, valid=1)
    r = requests.post(base + "/api/v1/saml/service-providers", data=metadata,
                      headers=dict(admin, **{"Content-Type": "application/samlmetadata+xml"}))
    assert r.status_code == 201, r.text
    sp_id = r.json()["id"]
    r = requests.patch(base + f"/api/v1/saml/service-providers/{sp_id}", headers=admin,
                       json={"attributes": [{"name": "mail", "source": "email"},
                                            {"name": "givenName", "source": "given_name"}],
                             "encrypt_assertions": True})
    assert r.status_code == 200, r.text
    assert r.json()["encryption_certificates"], "the metadata's encryption key was not read"

    idp_entity = base + "/saml/metadata"
    browser = requests.Session()

    # SP-initiated SSO: AuthnRequest on the Redirect binding.
    request_id, info = sp.prepare_for_authenticate(
        entityid=idp_entity, relay_state="back-to-app", binding=BINDING_HTTP_REDIRECT)
    location = dict(info["headers"])["Location"]
    page = sign_in(browser, base, location)
    assert form_action(page) == SP_BASE + "/acs", page
    assert hidden(page, "RelayState") == "back-to-app", page
    if os.environ.get("SAML_DEBUG"):
        import base64
        print(base64.b64decode(hidden(page, "SAMLResponse")).decode())
    import base64
    raw = base64.b64decode(hidden(page, "SAMLResponse")).decode()
    assert "EncryptedAssertion" in raw and "xmlenc11#aes256-gcm" in raw, raw
    assert "ada@example.com" not in raw, raw
    response = sp.parse_authn_request_response(
        hidden(page, "SAMLResponse"), BINDING_HTTP_POST, outstanding={request_id: "/"})
    assert response is not None, "pysaml2 refused the response"
    identity = response.get_identity()
    if os.environ.get("SAML_DEBUG"):
        print("ATTRS", [(a.name, a.name_format, [v.text for v in a.attribute_value]) for st in response.assertion.attribute_statement for a in st.attribute], response.ava)
    print("pysaml2: identity", identity)
    assert "ada@example.com" in identity.get("mail", []), identity
    assert "Ada" in identity.get("givenName", []), identity
    name_id = response.name_id
    print("pysaml2: SSO ok, NameID", name_id.text, "attributes", identity)

    # Single logout, SP-initiated.
    results = sp.global_logout(name_id)
    (binding, http_info), = results.values()
    if binding == BINDING_HTTP_REDIRECT:
        r = browser.get(dict(http_info["headers"])["Location"], allow_redirects=False)
    else:
        data = http_info["data"]
        r = browser.post(form_action(data), allow_redirects=False, data={
            "SAMLRequest": hidden(data, "SAMLRequest"), "RelayState": hidden(data, "RelayState") or ""})
    assert r.status_code == 302, (r.status_code, r.text)
    back = r.headers["Location"]
    assert back.startswith(SP_BASE + "/slo?"), back
    query = urllib.parse.parse_qs(urllib.parse.urlparse(back).query)
    logout = sp.parse_logout_request_response(query["SAMLResponse"][0], BINDING_HTTP_REDIRECT)
    assert logout is not None and logout.status_ok(), "pysaml2 refused the logout response"
    print("pysaml2: SLO ok")

    # The SSO session is over: a new AuthnRequest leads to the sign-in page.
    _, info = sp.prepare_for_authenticate(entityid=idp_entity, binding=BINDING_HTTP_REDIRECT)
    r = browser.get(dict(info["headers"])["Location"], allow_redirects=True)
    assert 'name="password"' in r.text, r.text
    print("pysaml2: session ended; SP-initiated SSO and SLO complete")

    two_sp_logout(base, work, admin, idp_metadata, idp_entity)


def keypair(work, name):
    """A fresh RSA-2048 key and self-signed certificate (PEM files)."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime(2024, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650 * 3))
            .sign(key, hashes.SHA256()))
    key_file = os.path.join(work, name + "-key.pem")
    cert_file = os.path.join(work, name + "-cert.pem")
    with open(key_file, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(cert_file, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


def make_sp(base_url, idp_metadata, slo_binding):
    config = SPConfig()
    config.load({
        "entityid": base_url + "/metadata",
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "allow_unknown_attributes": True,
        "metadata": {"local": [idp_metadata]},
        "service": {"sp": {
            "endpoints": {
                "assertion_consumer_service": [(base_url + "/acs", BINDING_HTTP_POST)],
                "single_logout_service": [(base_url + "/slo", slo_binding)],
            },
            "want_response_signed": True,
            "want_assertions_signed": True,
            "authn_requests_signed": False,
            "logout_requests_signed": False,
            "logout_responses_signed": False,
            "allow_unsolicited": False,
            "name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        }},
    })
    return Saml2Client(config), create_metadata_string(None, config=config, valid=1)


def sso(sp, browser, base, idp_entity, first):
    """SP-initiated SSO with pysaml2; returns the NameID pysaml2 read."""
    request_id, info = sp.prepare_for_authenticate(entityid=idp_entity, binding=BINDING_HTTP_REDIRECT)
    location = dict(info["headers"])["Location"]
    if first:
        page = sign_in(browser, base, location)
    else:
        page = browser.get(location, allow_redirects=True).text
        assert "SAMLResponse" in page, page
    response = sp.parse_authn_request_response(
        hidden(page, "SAMLResponse"), BINDING_HTTP_POST, outstanding={request_id: "/"})
    assert response is not None, "pysaml2 refused the response"
    return response.name_id


def redirect_params(url):
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    return {k: v[0] for k, v in query.items()}


def answer_step(sp, name_id, browser, base, page):
    """A logout step page: pysaml2 handles the LogoutRequest it carries (POST
    form or Redirect link) and its LogoutResponse goes back to Gatehouse.
    Returns Gatehouse's answer to that LogoutResponse."""
    action = form_action(page)
    if action is not None:
        out = sp.handle_logout_request(hidden(page, "SAMLRequest"), name_id, BINDING_HTTP_POST,
                                       relay_state=hidden(page, "RelayState"))
    else:
        m = re.search(r'id="next" href="([^"]*)"', page)
        assert m, page
        params = redirect_params(html.unescape(m.group(1)))
        out = sp.handle_logout_request(params["SAMLRequest"], name_id, BINDING_HTTP_REDIRECT,
                                       relay_state=params.get("RelayState"),
                                       sigalg=params.get("SigAlg"), signature=params.get("Signature"))
    assert not sp.users.subjects(), "pysaml2 did not log the user out locally"
    if out.get("method") == "POST":
        data = out["data"]
        action = html.unescape(re.search(r'<form[^>]* action="([^"]*)"', data).group(1))
        return browser.post(action, allow_redirects=False, data={
            "SAMLResponse": hidden(data, "SAMLResponse"),
            "RelayState": hidden(data, "RelayState") or ""})
    return browser.get(dict(out["headers"])["Location"], allow_redirects=False)


def two_sp_logout(base, work, admin, idp_metadata, idp_entity):
    sp1, meta1 = make_sp(SP_BASE + "-a", idp_metadata, BINDING_HTTP_REDIRECT)
    sp2, meta2 = make_sp(SP2_BASE, idp_metadata, BINDING_HTTP_POST)
    for metadata in (meta1, meta2):
        r = requests.post(base + "/api/v1/saml/service-providers", data=metadata,
                          headers=dict(admin, **{"Content-Type": "application/samlmetadata+xml"}))
        assert r.status_code == 201, r.text

    # SP-initiated: SP 1 asks, Gatehouse logs out SP 2 first, then answers SP 1.
    browser = requests.Session()
    name1 = sso(sp1, browser, base, idp_entity, True)
    name2 = sso(sp2, browser, base, idp_entity, False)
    results = sp1.global_logout(name1)
    (binding, http_info), = results.values()
    assert binding == BINDING_HTTP_REDIRECT, binding
    r = browser.get(dict(http_info["headers"])["Location"], allow_redirects=False)
    assert r.status_code == 200 and "Signing you out" in r.text, (r.status_code, r.text)
    r = answer_step(sp2, name2, browser, base, r.text)
    assert r.status_code == 302, (r.status_code, r.text)
    back = r.headers["Location"]
    assert back.startswith(SP_BASE + "-a/slo?"), back
    params = redirect_params(back)
    logout = sp1.parse_logout_request_response(params["SAMLResponse"], BINDING_HTTP_REDIRECT)
    assert logout is not None and logout.status_ok(), "pysaml2 refused the final LogoutResponse"
    print("pysaml2: SP-initiated SLO across two SPs ok")

    # IdP-initiated: /oauth2/logout sends LogoutRequests to both SPs.
    browser = requests.Session()
    name1 = sso(sp1, browser, base, idp_entity, True)
    name2 = sso(sp2, browser, base, idp_entity, False)
    r = browser.get(base + "/oauth2/logout")
    assert "Sign out?" in r.text, r.text
    r = browser.post(base + "/oauth2/logout", allow_redirects=False,
                     data={"csrf": hidden(r.text, "csrf"), "confirm": "yes"})
    assert r.status_code == 200 and "Signing you out" in r.text, (r.status_code, r.text)
    # One step per SP, in the order they joined; each page names its SP.
    for _ in range(2):
        which = (sp2, name2) if "sp2/slo" in html.unescape(r.text) else (sp1, name1)
        r = answer_step(which[0], which[1], browser, base, r.text)
        assert r.status_code == 200, (r.status_code, r.text)
    assert "signed out" in r.text and not sp1.users.subjects(), r.text
    print("pysaml2: IdP-initiated SLO across two SPs ok")


def sign_in(browser, base, location):
    """Follows the IdP's redirects, fills /login, returns the auto-POST page."""
    r = browser.get(location, allow_redirects=True)
    assert 'name="password"' in r.text, r.text
    form = {"username": "ada", "password": PASSWORD, "csrf": hidden(r.text, "csrf")}
    for name in ("return_to", "org", "request"):
        value = hidden(r.text, name)
        if value is not None:
            form[name] = value
    r = browser.post(base + "/login", data=form, allow_redirects=True)
    assert "SAMLResponse" in r.text, r.text
    return r.text


if __name__ == "__main__":
    main()
