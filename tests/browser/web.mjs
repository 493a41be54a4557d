// Drives Debian's headless chromium (through playwright-core, which ships no browser) against a
// running `laurel serve`, as tests/web.rs sets it up. Usage:
//   node web.mjs CONFIG.json
// CONFIG: {base, chromium, screenshots, work, good, xss, revoked, xssName, achievement,
//          recipient, issuerName}. Every request that leaves the server's origin is aborted (the
// test never reaches the internet); the LinkedIn link is followed up to that abort and its URL
// checked. Exits 1 with the failures listed; prints one JSON line of what it saw.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = config.base;
const origin = new URL(base).origin;
mkdirSync(config.screenshots, { recursive: true });
mkdirSync(config.work, { recursive: true });

const failures = [];
const seen = {};
function check(ok, what) {
  if (!ok) failures.push(what);
  return ok;
}

const browser = await chromium.launch({
  executablePath: config.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"],
});
const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1000, height: 900 } });
await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
const outside = [];
await context.route("**/*", (route) => {
  const url = route.request().url();
  if (url.startsWith(origin + "/") || url.startsWith("data:")) return route.continue();
  outside.push(url);
  return route.abort("blockedbyclient");
});
const page = await context.newPage();
const dialogs = [];
page.on("dialog", (dialog) => {
  dialogs.push(dialog.message());
  dialog.dismiss().catch(() => {});
});
const consoleErrors = [];
page.on("console", (msg) => {
  if (msg.type() === "error") consoleErrors.push(msg.text());
});
page.on("pageerror", (e) => consoleErrors.push(String(e)));

// A separate context for axe: its script is injected inline, which the pages' CSP (rightly)
// refuses.
const axeContext = await browser.newContext({ bypassCSP: true });
async function axe(path, name) {
  const p = await axeContext.newPage();
  await p.goto(base + path);
  if (path === "/verify" && config.good) {
    await p.setInputFiles("#files", config.goodFile);
    await Promise.all([p.waitForNavigation(), p.click("button[type=submit]")]);
  }
  await p.addScriptTag({ content: axeSource });
  const result = await p.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `axe on ${name}: ${JSON.stringify(bad.map((v) => [v.id, v.impact, v.nodes.map((n) => n.target)]))}`);
  seen[`axe_${name}`] = result.violations.map((v) => `${v.id}:${v.impact}`);
  await p.close();
}

async function shot(name) {
  await page.screenshot({ path: join(config.screenshots, `${name}.png`), fullPage: true });
}

const text = (selector) => page.locator(selector).first().innerText();
const meta = (key) =>
  page.evaluate((key) => {
    const m = document.querySelector(`meta[property="${key}"], meta[name="${key}"]`);
    return m ? m.getAttribute("content") : null;
  }, key);

// 1. The badge page: content, state, sharing cards, JSON-LD.
const goodUrl = `${base}/badges/${config.good}`;
let response = await page.goto(goodUrl);
check(response.status() === 200, `badge page status ${response.status()}`);
const csp = response.headers()["content-security-policy"] || "";
check(csp.includes("script-src 'self'") && csp.includes("default-src 'none'"), `badge page CSP: ${csp}`);
check((await text("h1")) === config.achievement, `h1 is ${await text("h1")}`);
check((await text(".recipient")).includes(config.recipient), "recipient name shown");
check((await text("#state-heading")) === "Verified", `state heading: ${await text("#state-heading")}`);
check((await page.locator("ul.checks li.fail").count()) === 0, "no failed check on a good badge");
check((await text("main")).includes("Signature: passed"), "the signature check is listed as passed");
check((await text("main")).includes(config.issuerName), "issuer name shown");
check(
  (await text(".badge-top")).includes(`Issued by ${config.registeredName}, listed in Test Member Registry`),
  `the registry names the institution: ${await text(".badge-top")}`,
);
check((await text(".badge-top")).includes("Offline Registry could not be checked"), "the unreachable registry is reported");
check((await text("main")).includes("Pass the final assessment"), "criteria shown");
check((await text("main")).includes("Data wrangling"), "skill shown");
check((await text("main")).includes("https://example.org/work/1"), "evidence shown");
const og = {
  title: await meta("og:title"),
  image: await meta("og:image"),
  url: await meta("og:url"),
  description: await meta("og:description"),
  twitter: await meta("twitter:card"),
  twitterImage: await meta("twitter:image"),
};
seen.og = og;
check(og.title && og.title.includes(config.achievement), `og:title ${og.title}`);
check(og.url === goodUrl, `og:url ${og.url}`);
check(og.twitter === "summary", `twitter:card ${og.twitter}`);
check(og.image && og.image.startsWith(base + "/") && og.twitterImage === og.image, `og:image ${og.image}`);
const ogImage = await page.request.get(og.image);
check(ogImage.status() === 200 && ogImage.headers()["content-type"] === "image/png", "og:image is a PNG served here");
check(
  await page.evaluate(() => {
    const img = document.querySelector("img.badge-image");
    return img && img.complete && img.naturalWidth > 0;
  }),
  "the badge image loaded",
);
const jsonLd = await page.evaluate(() => JSON.parse(document.querySelector('script[type="application/ld+json"]').textContent));
check(jsonLd && jsonLd.proof && JSON.stringify(jsonLd).includes(config.achievement), "JSON-LD holds the signed credential");
check((await meta("robots")) === null, "a public badge page is indexable");

// Keyboard: the first Tab on a fresh page reaches the skip link.
await page.goto(goodUrl);
await page.keyboard.press("Tab");
check((await page.evaluate(() => document.activeElement.className)) === "skip", "first Tab is the skip link");

// Copy link (the JS enhancement un-hides the button).
check(await page.locator("button.copy").isVisible(), "Copy link is shown with JavaScript");
await page.click("button.copy");
await page.waitForFunction(() => document.querySelector(".copy-status").textContent.length > 0);
const copied = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => `unreadable: ${e}`);
check(copied === goodUrl, `copied ${copied}`);
seen.copyStatus = await text(".copy-status");

await shot("badge");

// LinkedIn: the link's parameters, then follow it (the request is stopped at our route).
const linkedin = new URL(await page.locator("a", { hasText: "Add to LinkedIn profile" }).getAttribute("href"));
const q = Object.fromEntries(linkedin.searchParams);
seen.linkedin = q;
check(linkedin.origin + linkedin.pathname === "https://www.linkedin.com/profile/add", `LinkedIn URL ${linkedin}`);
check(q.startTask === "CERTIFICATION_NAME", "startTask");
check(q.name === config.achievement, `name ${q.name}`);
check(q.organizationName === config.registeredName, `organizationName ${q.organizationName}`);
const now = new Date();
check(q.issueYear === String(now.getUTCFullYear()) && q.issueMonth === String(now.getUTCMonth() + 1), `issue ${q.issueYear}-${q.issueMonth}`);
check(q.expirationYear === "2031" && q.expirationMonth === "6", `expiration ${q.expirationYear}-${q.expirationMonth}`);
check(q.certUrl === goodUrl && q.certId === config.good, `cert ${q.certUrl} ${q.certId}`);
const followed = page.waitForRequest((r) => r.url().startsWith("https://www.linkedin.com/"));
page.click("a:has-text('Add to LinkedIn profile')").catch(() => {});
check((await followed).url() === linkedin.toString(), "following the link asks LinkedIn for exactly that URL");
await page.goto(goodUrl);

// 2. Download the baked PNG through the page, and make a tampered copy.
const [download] = await Promise.all([
  page.waitForEvent("download"),
  page.click("a:has-text('(PNG)')"),
]);
const goodFile = join(config.work, "badge.png");
await download.saveAs(goodFile);
config.goodFile = goodFile;
const png = readFileSync(goodFile);
check(png.subarray(1, 4).toString() === "PNG", "the download is a PNG");
writeFileSync(join(config.work, "tampered.png"), tamper(png, config.achievement, config.achievement + "!"));

// 3. The verify page: the good PNG, the tampered one, then three at once.
await page.goto(`${base}/verify`);
await shot("verify-empty");
await page.setInputFiles("#files", goodFile);
await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
check((await text("#summary")) === "1 badge checked: 1 verified, 0 not verified.", `summary ${await text("#summary")}`);
check((await text(".result h2")).startsWith("Verified"), `result ${await text(".result h2")}`);
check((await text(".result")).includes(config.issuerName), "the result names the issuer");
check((await text(".result")).includes(config.recipient), "the result names the recipient");
await shot("verify-good");

await page.setInputFiles("#files", join(config.work, "tampered.png"));
await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
check((await text(".result h2")).startsWith("Not verified"), `tampered: ${await text(".result h2")}`);
const failed = await page.locator(".result ul.checks li.fail").allInnerTexts();
seen.tamperedFailed = failed;
check(failed.some((f) => f.includes("Signature: failed")), `tampered names the signature: ${failed}`);
await page.click(".result details summary");
check((await text(".result details pre")).includes("PROOF_VERIFICATION_ERROR") || (await text(".result details pre")).includes("errors"), "the technical report opens");
await shot("verify-tampered");

const revokedFile = join(config.work, "revoked.png");
writeFileSync(revokedFile, Buffer.from(await (await page.request.get(`${base}/credentials/${config.revoked}/badge.png`)).body()));
const xssJson = join(config.work, "xss.json");
writeFileSync(xssJson, Buffer.from(await (await page.request.get(`${base}/badges/${config.xss}/credential.json`)).body()));
await page.setInputFiles("#files", [goodFile, revokedFile, xssJson]);
await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
check((await text("#summary")) === "3 badges checked: 2 verified, 1 not verified.", `three: ${await text("#summary")}`);
const verdicts = await page.locator(".result .verdict").allInnerTexts();
seen.threeVerdicts = verdicts;
check(JSON.stringify(verdicts) === JSON.stringify(["Verified", "Revoked", "Verified"]), `verdicts ${verdicts}`);
check((await page.locator(".result h2").nth(2).innerText()).includes(config.xssName), "the hostile name shows as text on the verify page");
await shot("verify-three");

// A badge from an issuer no registry lists, naming itself "MIT": valid, but unvouched for.
await page.setInputFiles("#files", config.foreignFile);
await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
check((await text(".result .verdict")) === "Verified", `foreign: ${await text(".result .verdict")}`);
check(
  (await text(".result")).includes("The issuer calls itself \u201cMIT\u201d; no configured registry lists it."),
  `the registry's silence is said: ${await text(".result")}`,
);
check((await page.locator(".result ul.checks li.warn").allInnerTexts()).some((t) => t.includes("Trust registry: warning")), "the registry line is a warning, not a pass");
await shot("verify-unlisted");

// Drag and drop (the JS enhancement): a file dropped on the zone joins the form.
await page.goto(`${base}/verify`);
const dropped = await page.evaluateHandle((json) => {
  const dt = new DataTransfer();
  dt.items.add(new File([json], "dropped.json", { type: "application/json" }));
  return dt;
}, readFileSync(xssJson, "utf8"));
await page.dispatchEvent(".dropzone", "drop", { dataTransfer: dropped });
check((await text(".file-list")).includes("dropped.json"), "the dropped file is listed");
await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
check((await text("#summary")) === "1 badge checked: 1 verified, 0 not verified.", `dropped: ${await text("#summary")}`);

// A badge link pasted in.
await page.goto(`${base}/verify`);
await page.fill("#urls", `${base}/badges/${config.revoked}`);
await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
check((await text(".result .verdict")) === "Revoked", `link to the revoked badge: ${await text(".result .verdict")}`);

// 4. The revoked badge's page.
await page.goto(`${base}/badges/${config.revoked}`);
check((await text("#state-heading")) === "Revoked", `revoked page: ${await text("#state-heading")}`);
check((await text(".state")).includes("withdrawn"), "the revocation is explained");
check((await page.locator("ul.checks li.fail").allInnerTexts()).some((t) => t.includes("Revocation: failed")), "the status check failed");
await shot("badge-revoked");

// 5. A badge named with HTML and script renders as text; nothing runs.
await page.goto(`${base}/badges/${config.xss}`);
check((await text("h1")) === config.xssName, `hostile h1: ${await text("h1")}`);
check((await page.evaluate(() => window.__xss)) === undefined, "no injected script ran");
check((await page.locator("main img").count()) === 1, "no injected image element");
const title = await page.title();
check(title.includes(config.xssName), `title as text: ${title}`);
const ldText = await page.evaluate(() => document.querySelector('script[type="application/ld+json"]').textContent);
check(!ldText.includes("<"), "no < inside the JSON-LD block");
await shot("badge-hostile");

// 6. The issuer page.
response = await page.goto(`${base}/issuers/issuer`);
check(response.status() === 200, `issuer page ${response.status()}`);
check((await text("h1")) === config.issuerName, `issuer h1 ${await text("h1")}`);
check((await text("main")).includes(config.achievement) && (await text("main")).includes("Pass the final assessment"), "catalog with criteria");
await shot("issuer");

// 7. A page that is not there.
response = await page.goto(`${base}/badges/urn:uuid:00000000-0000-0000-0000-000000000000`);
check(response.status() === 404 && (await meta("robots")) === "noindex, nofollow", "404 page, noindex");
await shot("not-found");

// 8. Accessibility.
for (const [path, name] of [
  [`/badges/${config.good}`, "badge"],
  [`/badges/${config.revoked}`, "badge-revoked"],
  [`/badges/${config.xss}`, "badge-hostile"],
  ["/verify", "verify"],
  ["/issuers/issuer", "issuer"],
]) {
  await axe(path, name);
}

check(dialogs.length === 0, `dialogs fired: ${dialogs}`);
const cspErrors = consoleErrors.filter((e) => e.includes("Content Security Policy"));
check(cspErrors.length === 0, `CSP violations: ${cspErrors}`);
check(outside.every((u) => u.startsWith("https://www.linkedin.com/")), `requests outside the server: ${outside}`);
seen.outside = outside;
seen.consoleErrors = consoleErrors;
await browser.close();
console.log(JSON.stringify(seen));
if (failures.length) {
  console.error("FAILED:\n- " + failures.join("\n- "));
  process.exit(1);
}

/// The PNG with `from` replaced by `to` inside its openbadgecredential iTXt chunk (CRC redone,
/// so the image is well-formed and only the signature can tell).
function tamper(png, from, to) {
  const out = [png.subarray(0, 8)];
  let offset = 8;
  let changed = false;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.subarray(offset + 4, offset + 8);
    let data = png.subarray(offset + 8, offset + 8 + length);
    if (type.toString() === "iTXt" && data.subarray(0, 19).toString() === "openbadgecredential") {
      const text = data.toString("utf8");
      check(text.includes(from), "the baked credential holds the achievement name");
      data = Buffer.from(text.replace(from, to), "utf8");
      changed = true;
    }
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    type.copy(head, 4);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([type, data])) >>> 0, 0);
    out.push(head, data, crc);
    offset += 12 + length;
  }
  check(changed, "the PNG had a credential to tamper with");
  return Buffer.concat(out);
}
