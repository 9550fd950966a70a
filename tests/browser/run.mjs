// run.mjs - the feedback form in a real browser: Debian's Chromium,
// headless, driven over the DevTools protocol by puppeteer-core (which
// never downloads a browser), with axe-core injected into each page.
//
// Against a running reflectd ($REFLECTD_ADDR, database $DATABASE_URL):
// makes an organisation (`reflectd bootstrap`), a student with a reflection
// shared with their werkbegeleider, and a feedback invitation through the
// API; opens the link, checks the page (no CSP violation, its style
// applied, axe: no violations), submits it with a name of only spaces (the
// form again, with the error tied to the field), fills it properly and
// submits, checks the thank-you page, checks through the API that the
// student and the werkbegeleider see the feedback as external, and that
// the used link shows the neutral page. Screenshots go to $ARTIFACTS
// (default build/artifacts/). Prints one line "browser: N passed, M failed".
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const addr = process.env.REFLECTD_ADDR;
const bin = process.env.REFLECTD_BIN || "bin/reflectd";
const artifacts = process.env.ARTIFACTS || "build/artifacts";
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
const base = `http://${addr}`;
const axeSource = readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
let passed = 0, failed = 0;

function check(name, ok, detail = "") {
    if (ok) passed++;
    else failed++;
    console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok || !detail ? "" : `: ${detail}`}`);
}

async function api(method, path, token, body) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body) headers["Content-Type"] = "application/json";
    const r = await fetch(base + path, { method, headers, body: body && JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null };
}

async function must(method, path, token, body, want) {
    const r = await api(method, path, token, body);
    if (r.status !== want) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
}

async function login(email, password) {
    return (await must("POST", "/v1/auth/login", null, { email, password }, 200)).access_token;
}

// An organisation, a student, a werkbegeleider, a shared reflection and an
// invitation on it that shows the situation part.
async function world() {
    const tag = `${process.pid}-${Date.now()}`;
    const password = "correct horse battery staple";
    const admin = `browser-admin-${tag}@example.org`;
    const b = spawnSync(bin, ["bootstrap"], {
        env: { ...process.env, BOOTSTRAP_ORG_NAME: `Browser ${tag}`,
               BOOTSTRAP_ADMIN_EMAIL: admin, BOOTSTRAP_ADMIN_PASSWORD: password },
        stdio: ["ignore", "ignore", "pipe"],
    });
    if (b.status !== 0) throw new Error(`reflectd bootstrap: ${b.stderr}`);
    const at = await login(admin, password);
    const user = async (who) => {
        const email = `browser-${who}-${tag}@example.org`;
        const u = await must("POST", "/v1/users", at, { email, name: `Browser ${who}`, password }, 201);
        return { id: u.id, token: await login(email, password) };
    };
    const team = await must("POST", "/v1/teams", at, { name: `Team ${tag}` }, 201);
    const student = await user("student"), coach = await user("coach");
    await must("PUT", `/v1/teams/${team.id}/members/${student.id}`, at, { role: "student" }, 200);
    await must("PUT", `/v1/teams/${team.id}/members/${coach.id}`, at, { role: "werkbegeleider" }, 200);
    await must("PUT", `/v1/students/${student.id}/supervisors/${coach.id}`, at, null, 204);
    const day = new Date(Date.now() - 86400000).toISOString().slice(0, 10);
    const refl = await must("POST", "/v1/reflections", student.token, {
        team_id: team.id, occurred_on: day, status: "final",
        situation: "Nachtdienst: meneer wilde om drie uur 's nachts naar huis en werd onrustig.",
        task: "Ik was alleen op de gang.", action: "Ik ging naast hem zitten en praatte rustig.",
        result: "Hij sliep weer om half vier.", reflection: "Rust geven werkt beter dan uitleggen.",
    }, 201);
    await must("PUT", `/v1/reflections/${refl.id}/shares/${coach.id}`, student.token, null, 204);
    const inv = await must("POST", "/v1/feedback-invitations", student.token, {
        reflection_id: refl.id, share_situation: true,
        line: "Hoe ik meneer 's nachts rustig kreeg (jij was er ook bij)",
    }, 201);
    return { student, coach, refl, inv };
}

// Runs axe-core in the page; the page's CSP does not apply to code the
// DevTools protocol evaluates, so nothing needs to be relaxed for it.
async function axe(page, name) {
    await page.evaluate(axeSource);
    const res = await page.evaluate(async () =>
        await globalThis.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"] }));
    const v = res.violations.map((x) => `${x.id} (${x.nodes.length}): ${x.help}`);
    check(`${name}: axe finds no violations`, v.length === 0, v.join("; "));
}

async function shot(page, file) {
    await page.screenshot({ path: join(artifacts, file), fullPage: true });
}

async function run(browser, w) {
    const page = await browser.newPage();
    await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 1 }); // a phone
    const cspViolations = [];
    page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });

    // A Dutch phone (headless Chromium would say en-US).
    await page.setExtraHTTPHeaders({ "Accept-Language": "nl-NL,nl;q=0.9,en;q=0.8" });
    let resp = await page.goto(w.inv.url, { waitUntil: "load" });
    check("the form answers 200", resp.status() === 200, String(resp.status()));
    check("the form is Dutch", await page.$eval("html", (e) => e.lang) === "nl");
    check("the student's line is shown", (await page.content()).includes("rustig kreeg"));
    check("the chosen situation is shown", (await page.content()).includes("drie uur"));
    check("the rest of the reflection is not", !(await page.content()).includes("naast hem zitten"));
    const bg = await page.$eval("button", (e) => getComputedStyle(e).backgroundColor);
    check("the nonce'd style applies", bg === "rgb(11, 83, 148)", bg);
    check("no cookie is set", (await page.cookies()).length === 0);
    await shot(page, "feedback-form.png");
    await axe(page, "form");

    // Keyboard only: Tab from the top reaches the name field first.
    await page.keyboard.press("Tab");
    check("Tab reaches the name field first", await page.evaluate(() => document.activeElement.id) === "name");

    // A name of spaces passes the browser's 'required' but not the server.
    await page.keyboard.type("   ");
    await page.type("#role", "verpleegkundige, nachtdienst");
    await page.type("#top", "Je bleef rustig en ging naast hem zitten.");
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    check("the form comes back with its error", (await page.$("#name[aria-invalid=true]")) !== null);
    check("what was typed is kept", (await page.$eval("#top", (e) => e.value)).includes("naast hem"));
    await shot(page, "feedback-form-error.png");
    await axe(page, "form with an error");

    await page.type("#name", "Ria de Vries");
    await page.type("#tip", "Schrijf de tijden op voor de overdracht.");
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    check("the thank-you page", (await page.$eval("h1", (e) => e.textContent)) === "Dank je wel!");
    await shot(page, "feedback-thanks.png");
    await axe(page, "thank-you page");

    // Through the API: the student and the werkbegeleider see it.
    const thread = await must("GET", `/v1/reflections/${w.refl.id}/feedback`, w.student.token, null, 200);
    const kinds = thread.items.map((f) => f.kind).sort().join(",");
    check("the student has a top and a tip", kinds === "tip,top", kinds);
    check("as external, unverified feedback", thread.items.every((f) =>
        f.author_type === "external" && f.author_verified === false && f.author_id === null &&
        f.author_name === "Ria de Vries" && f.author_role === "verpleegkundige, nachtdienst"));
    const coachView = await must("GET", `/v1/reflections/${w.refl.id}/feedback`, w.coach.token, null, 200);
    check("the werkbegeleider sees it too", coachView.items.length === 2);

    // The used link, in English: the neutral page.
    await page.setExtraHTTPHeaders({ "Accept-Language": "en-GB,en;q=0.9" });
    resp = await page.goto(w.inv.url, { waitUntil: "load" });
    check("a used link answers 404", resp.status() === 404, String(resp.status()));
    check("with the neutral page, in English",
          (await page.$eval("h1", (e) => e.textContent)) === "This link does not work");
    await shot(page, "feedback-link-dead.png");
    await axe(page, "neutral page");
    check("no CSP violation on any page", cspViolations.length === 0, cspViolations.join("; "));
}

async function main() {
    if (!addr) throw new Error("REFLECTD_ADDR is not set");
    mkdirSync(artifacts, { recursive: true });
    const profile = mkdtempSync(join(tmpdir(), "reflectd-chromium-"));
    const w = await world();
    const browser = await puppeteer.launch({
        executablePath: chromium, headless: true, userDataDir: profile,
        args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
        await run(browser, w);
    } finally {
        await browser.close();
        rmSync(profile, { recursive: true, force: true });
    }
}

try {
    await main();
} catch (e) {
    check("the browser test ran to its end", false, e.stack || String(e));
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
