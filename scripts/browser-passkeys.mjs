// The hosted pages in a real browser: Debian's Chromium driven by
// Playwright (playwright-core), with Chromium's virtual WebAuthn
// authenticator standing in for a platform passkey. It exercises what no
// Rust test can: the pages' script /assets/webauthn.js calling
// navigator.credentials under the pages' CSP.
//
//   node scripts/browser-passkeys.mjs <path to the gatehouse binary>
//
// playwright-core is found where Node finds packages, or at the path in
// PLAYWRIGHT_CORE (its index.mjs; .ci/run installs it under ~/.cache);
// Chromium at /usr/bin/chromium (Debian's package) or CHROMIUM.
//
// Starts `gatehouse serve` on a free port with a fresh data dir and the
// public URL http://localhost:<port> (the WebAuthn RP id is `localhost`),
// creates a user through the admin API, then in the browser:
//   1. signs in with the password and adds a passkey on /account/security;
//   2. signs in again with no username: "Sign in with a passkey";
//   3. with the org's policy asking for a second factor always, signs in
//      with the password and answers the second step with the passkey;
//   4. adds an authenticator app (the QR code page, the code typed in) and
//      signs in with the password and its code;
//   5. checks the admin API shows the passkey as used, and that the pages
//      raised no script error.
// Exits non-zero, printing the server log, when anything is off.

import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const { chromium } = await import(process.env.PLAYWRIGHT_CORE || "playwright-core");

const binary = process.argv[2];
if (!binary) {
  console.error("usage: node scripts/browser-passkeys.mjs <gatehouse binary>");
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const TOKEN = "browser-test-" + Math.random().toString(36).slice(2) + Date.now();
const PASSWORD = "correct horse battery staple";
const ORG = "00000000-0000-7000-8000-000000000001";
let serverLog = "";

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function check(condition, what) {
  if (!condition) {
    throw new Error("failed: " + what);
  }
  console.log("ok: " + what);
}

/// RFC 6238 (SHA-1, 30 s, 6 digits) for a base32 key, `steps` after now.
function totp(base32, steps = 0) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32.replace(/[\s=]/g, "").toUpperCase()) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + steps));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(code).padStart(6, "0");
}

async function admin(base, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: {
      authorization: "Bearer " + TOKEN,
      "content-type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function waitReady(base) {
  for (let i = 0; i < 120; i++) {
    try {
      const response = await fetch(base + "/readyz");
      if (response.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("the server did not become ready");
}

/// Signs in with the password on the page the browser is on.
async function passwordSignIn(page, username) {
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", PASSWORD);
  await Promise.all([
    page.waitForNavigation(),
    page.click("form:has(input[name=password]) button[type=submit]"),
  ]);
}

async function main() {
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-browser-"));
  const server = spawn(
    binary,
    ["serve", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, "--public-url", base],
    { env: { ...process.env, GATEHOUSE_BOOTSTRAP_TOKEN: TOKEN } },
  );
  server.stdout.on("data", (d) => (serverLog += d));
  server.stderr.on("data", (d) => (serverLog += d));
  let browser;
  try {
    await waitReady(base);
    const created = await admin(base, "POST", "/api/v1/users", {
      username: "ada",
      email: "ada@example.com",
      password: PASSWORD,
    });
    check(created.status === 201, "user created through the admin API");

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") {
        errors.push(m.text());
      }
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    // 1. Password, then a passkey on the security page.
    await page.goto(base + "/login?return_to=/account/security");
    await passwordSignIn(page, "ada");
    check((await page.textContent("h1")).includes("Security"), "signed in with the password");
    await page.fill("#passkey-name", "Virtual passkey");
    await Promise.all([
      page.waitForNavigation(),
      page.click("form[data-webauthn=create] button[type=submit]"),
    ]);
    const added = await page.content();
    check(added.includes("Passkey added."), "the page's script registered a passkey");
    check(added.includes("Virtual passkey"), "the security page lists it");
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    check(credentials.length === 1 && credentials[0].isResidentCredential, "a discoverable credential");

    // 2. Username-less: a fresh browser session. The sign-in page's script
    //    starts a conditional (autofill) request at once, which Chromium's
    //    virtual authenticator answers by itself; a browser that waits for
    //    the user gets the "Sign in with a passkey" button instead.
    await context.clearCookies();
    await page.goto(base + "/login?return_to=/account/security");
    let how = "the autofill (conditional) request";
    try {
      await page.waitForURL((url) => url.pathname === "/account/security", { timeout: 10000 });
    } catch {
      how = "the passkey button";
      await Promise.all([
        page.waitForNavigation(),
        page.click("form[data-webauthn=get] button[type=submit]"),
      ]);
    }
    check(
      (await page.textContent("h1")).includes("Security"),
      `signed in with the passkey alone, no username (${how})`,
    );

    // 3. The org asks for a second factor: password, then the passkey.
    const policy = await admin(base, "PUT", `/api/v1/orgs/${ORG}/signon-policy`, {
      second_factor: "always",
    });
    check(policy.status === 200, "the org's policy asks for a second factor");
    //    The authenticator stays silent on the sign-in page (as a user who
    //    types the password instead of picking the autofilled passkey).
    await context.clearCookies();
    await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: false });
    await page.goto(base + "/login?return_to=/account/security");
    await passwordSignIn(page, "ada");
    check(
      (await page.content()).includes('data-webauthn="get"'),
      "the second step offers the passkey",
    );
    await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: true });
    await Promise.all([
      page.waitForNavigation(),
      page.click("form[data-webauthn=get] button[type=submit]"),
    ]);
    check(
      (await page.textContent("h1")).includes("Security"),
      "signed in with the password and the passkey as second factor",
    );

    // 4. An authenticator app: the QR code page, the first code, then a
    //    sign-in with the password and the next code (a code is accepted
    //    once, and the next time step is inside the ±1 window).
    await page.goto(base + "/account/security");
    await Promise.all([
      page.waitForNavigation(),
      page.click("form[action='/account/security/totp'] button[type=submit]"),
    ]);
    check((await page.locator(".qr svg").count()) === 1, "the QR code is an inline SVG");
    const secret = (await page.textContent("code.secret")).trim();
    await page.fill("#otp", totp(secret));
    await Promise.all([page.waitForNavigation(), page.click("form button[type=submit]")]);
    const activated = await page.content();
    check(
      activated.includes("Authenticator app added.") || activated.toLowerCase().includes("recovery code"),
      "the authenticator app is active",
    );
    await context.clearCookies();
    await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: false });
    await page.goto(base + "/login?return_to=/account/security");
    await passwordSignIn(page, "ada");
    await page.fill("#otp", totp(secret, 1));
    await Promise.all([
      page.waitForNavigation(),
      page.click("form:has(#otp) button[type=submit]"),
    ]);
    check(
      (await page.textContent("h1")).includes("Security"),
      "signed in with the password and the authenticator app's code",
    );

    // 5. What the server recorded.
    const factors = await admin(base, "GET", `/api/v1/users/${created.body.id}/factors`);
    const key = factors.body.items.find((f) => f.type === "webauthn");
    check(key && key.status === "active" && key.last_used_at, "the admin API shows the passkey used");
    check(errors.length === 0, "no script errors in the pages: " + JSON.stringify(errors));
  } finally {
    if (browser) {
      await browser.close();
    }
    server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(String(error && error.stack ? error.stack : error));
    console.error("--- server log ---\n" + serverLog);
    process.exit(1);
  },
);
