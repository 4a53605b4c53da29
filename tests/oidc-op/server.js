// A stand-in for Clave Única for the console's tests, on oidc-provider (a third-party OpenID
// Connect provider). Not shipped, never for production.
//
// What it imitates, as Clave Única's integration manual for relying parties describes it:
// - authorization code flow, PKCE S256 required, client_secret_post, scopes `openid run name`;
// - userinfo (GET or POST with a bearer token) in Clave Única's shape:
//   { sub, RolUnico: { numero (integer), DV (string), tipo: "RUN" }, name: { nombres[], apellidos[] } };
//   the ID token carries the standard claims only (sub, nonce, ...), never the RUN;
// - `sub` is an opaque number, not the RUN (a relying party must key on RolUnico);
// - its own login page (a RUN, a password, optionally a name), no consent page;
// - Clave Única's logout, GET /api/v1/accounts/app/logout?redirect=URI, and the standard
//   end_session; both redirect only to a registered post-logout URI.
//
// Settings, as options or environment variables (an option wins):
//   --port N                         OP_PORT          0 (any free port)
//   --host NAME                      OP_HOST          127.0.0.1 (the issuer's host; it listens on 127.0.0.1)
//   --tls-cert FILE                  OP_TLS_CERT      none: a PEM certificate chain, the server's first
//   --tls-key FILE                   OP_TLS_KEY       none: the PEM private key of that certificate
//     With both it serves HTTPS and its issuer is https://HOST:PORT (the certificate must be
//     valid for HOST); with neither, plain HTTP and http://HOST:PORT. One without the other is
//     an error.
//   --client-id ID                   OP_CLIENT_ID     siis-consola
//   --client-secret S                OP_CLIENT_SECRET siis-consola-secreto
//   --redirect-uri URI (repeatable)  OP_REDIRECT_URIS (space-separated)
//   --post-logout-redirect-uri URI (repeatable)  OP_POST_LOGOUT_REDIRECT_URIS (space-separated)
//   --accounts FILE                  OP_ACCOUNTS      a JSON object by RUN:
//     { "44444444-4": { "nombres": ["María"], "apellidos": ["Del Río", "González"], "sub": "2594", "clave": "testing" } }
//     With a file, only its RUNs sign in (and with their `clave` when given); without one, any
//     RUN whose check digit is right signs in, with any password, under a name made from the RUN.
// Prints `listening ISSUER` on stdout once it accepts connections; SIGTERM stops it.
import http from 'node:http';
import https from 'node:https';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    accounts: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
  },
});
const setting = (option, variable, fallback) => args[option] ?? process.env[variable] ?? fallback;
const list = (option, variable) => args[option] ?? (process.env[variable] ?? '').split(/\s+/).filter(Boolean);

const clientId = setting('client-id', 'OP_CLIENT_ID', 'siis-consola');
const clientSecret = setting('client-secret', 'OP_CLIENT_SECRET', 'siis-consola-secreto');
const redirectUris = list('redirect-uri', 'OP_REDIRECT_URIS');
const logoutUris = list('post-logout-redirect-uri', 'OP_POST_LOGOUT_REDIRECT_URIS');
const accountsFile = setting('accounts', 'OP_ACCOUNTS', '');
const accounts = accountsFile ? JSON.parse(readFileSync(accountsFile, 'utf8')) : null;
const tlsCert = setting('tls-cert', 'OP_TLS_CERT', '');
const tlsKey = setting('tls-key', 'OP_TLS_KEY', '');
if (redirectUris.length === 0) {
  console.error('server.js: at least one --redirect-uri (or OP_REDIRECT_URIS) is needed');
  process.exit(2);
}
if (Boolean(tlsCert) !== Boolean(tlsKey)) {
  console.error('server.js: --tls-cert and --tls-key (or OP_TLS_CERT and OP_TLS_KEY) go together');
  process.exit(2);
}

// "44.444.444-4" or "44444444-4" -> "44444444-4"; null when it does not parse or its DV is wrong.
function normalizeRun(text) {
  const m = /^(\d{1,3}(?:\.?\d{3})*)-?([\dkK])$/.exec(String(text).trim());
  if (!m) return null;
  const numero = m[1].replaceAll('.', '').replace(/^0+(?=\d)/, '');
  let sum = 0;
  let factor = 2;
  for (let i = numero.length - 1; i >= 0; i -= 1) {
    sum += Number(numero[i]) * factor;
    factor = factor === 7 ? 2 : factor + 1;
  }
  const r = 11 - (sum % 11);
  const dv = r === 11 ? '0' : r === 10 ? 'K' : String(r);
  return dv === m[2].toUpperCase() ? `${numero}-${dv}` : null;
}

const digest = (text) => createHash('sha256').update(text).digest();

// A name made from the RUN, the same on every run: the tests can type only a RUN.
const NOMBRES = ['María', 'José', 'Carmen', 'Juan', 'Rosa', 'Luis', 'Ana', 'Pedro', 'Francisca', 'Héctor'];
const APELLIDOS = ['González', 'Muñoz', 'Rojas', 'Díaz', 'Pérez', 'Soto', 'Contreras', 'Silva', 'Martínez', 'Sepúlveda'];
function madeUpName(run) {
  const h = digest(`name:${run}`);
  const two = (names, a, b) => [names[a % names.length], names[(a + 1 + (b % (names.length - 1))) % names.length]];
  return { nombres: two(NOMBRES, h[0], h[1]), apellidos: two(APELLIDOS, h[2], h[3]) };
}

// sub -> { run, nombres, apellidos }: who signed in under each opaque account id.
const people = new Map();
const subOf = (run) => String(accounts?.[run]?.sub ?? 1000 + (digest(`sub:${run}`).readUInt32BE(0) % 9000000));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'op-prueba', use: 'sig', alg: 'RS256' };

const server = tlsCert
  ? https.createServer({ cert: readFileSync(tlsCert), key: readFileSync(tlsKey) })
  : http.createServer();
await new Promise((resolve) => { server.listen(Number(setting('port', 'OP_PORT', '0')), '127.0.0.1', resolve); });
const scheme = tlsCert ? 'https' : 'http';
const issuer = `${scheme}://${setting('host', 'OP_HOST', '127.0.0.1')}:${server.address().port}`;

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html lang="es"><head><meta charset="utf-8"><title>${esc(title)}</title></head><body>${body}</body></html>`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: logoutUris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  jwks: { keys: [jwk] },
  // Names of its own: cookies are per host, not per port, and a node under test may share it.
  cookies: { keys: [randomBytes(32).toString('hex')], names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_interaction_resume' } },
  responseTypes: ['code'],
  pkce: { required: () => true },
  scopes: ['openid', 'run', 'name'],
  claims: { openid: ['sub'], run: ['RolUnico'], name: ['name'] },
  // Clave Única's paths under its issuer's origin (discovery says where each one is).
  routes: { authorization: '/openid/authorize', token: '/openid/token', userinfo: '/openid/userinfo', end_session: '/openid/logout', jwks: '/openid/jwks' },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Cerrar sesión', `<h1>¿Cerrar la sesión de ClaveÚnica?</h1>${form}
<button id="logout" type="submit" form="op.logoutForm" name="logout" value="yes">Cerrar sesión</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Sesión cerrada', '<p id="logged-out">Sesión cerrada</p>');
      },
    },
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<p id="error">${esc(out.error)}: ${esc(out.error_description ?? '')}</p>`);
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // Clave Única shows no consent page: grant what the client asked for.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.params.scope);
    await grant.save();
    return grant;
  },
  async findAccount(ctx, sub) {
    const person = people.get(sub);
    if (!person) return undefined;
    const [numero, dv] = person.run.split('-');
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          RolUnico: { numero: Number(numero), DV: dv, tipo: 'RUN' },
          name: { nombres: person.nombres, apellidos: person.apellidos },
        };
      },
    };
  },
  ttl: { AccessToken: 600, AuthorizationCode: 300, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
});

const loginForm = (uid, error) => page('ClaveÚnica (prueba)', `<h1>ClaveÚnica (prueba)</h1>
${error ? `<p id="error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<p><label for="run">RUN</label> <input id="run" name="run" required></p>
<p><label for="password">Clave</label> <input id="password" name="password" type="password"></p>
<p><label for="nombres">Nombres</label> <input id="nombres" name="nombres"></p>
<p><label for="apellido_paterno">Apellido paterno</label> <input id="apellido_paterno" name="apellido_paterno"></p>
<p><label for="apellido_materno">Apellido materno</label> <input id="apellido_materno" name="apellido_materno"></p>
<button id="login" type="submit">Autenticar</button></form>`);

// The name of who signs in: typed in the form, else from the accounts file, else made up.
function nameOf(run, form) {
  const nombres = (form.get('nombres') ?? '').trim().split(/\s+/).filter(Boolean);
  const apellidos = [form.get('apellido_paterno'), form.get('apellido_materno')].map((a) => (a ?? '').trim()).filter(Boolean);
  if (nombres.length > 0 || apellidos.length > 0) return { nombres, apellidos };
  if (accounts?.[run]) return { nombres: accounts[run].nombres ?? [], apellidos: accounts[run].apellidos ?? [] };
  return madeUpName(run);
}

// No form-action in its pages' policy: Chromium applies it to the redirect that follows a
// submission too, and the login form's answer redirects to the client, on another origin.
const send = (res, status, html) => {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  });
  res.end(html);
};
const readForm = (req) => new Promise((resolve, reject) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; if (body.length > 8192) reject(new Error('form too large')); });
  req.on('end', () => resolve(new URLSearchParams(body)));
  req.on('error', reject);
});

// Clave Única's logout: ends the session, then goes to `redirect` if it is registered.
provider.use(async (ctx, next) => {
  if (ctx.path === '/api/v1/accounts/app/logout' && ctx.method === 'GET') {
    const session = await provider.Session.get(ctx);
    await session.destroy();
    const to = ctx.query.redirect;
    if (to && logoutUris.includes(to)) { ctx.redirect(to); return; }
    ctx.type = 'html';
    ctx.body = page('Sesión cerrada', '<p id="logged-out">Sesión cerrada</p>');
    return;
  }
  await next();
});

const callback = provider.callback();
server.on('request', async (req, res) => {
  const m = /^\/interaction\/([\w-]+)(\/login)?$/.exec(new URL(req.url, issuer).pathname);
  if (!m) { callback(req, res); return; }
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== m[1]) { send(res, 400, page('Error', '<p id="error">interacción inválida</p>')); return; }
    if (!m[2] && req.method === 'GET') { send(res, 200, loginForm(details.uid)); return; }
    if (m[2] && req.method === 'POST') {
      const form = await readForm(req);
      const run = normalizeRun(form.get('run') ?? '');
      const account = accounts ? accounts[run] : {};
      if (!run || !account || (account.clave !== undefined && account.clave !== form.get('password'))) {
        send(res, 200, loginForm(details.uid, 'RUN o clave incorrectos'));
        return;
      }
      const sub = subOf(run);
      people.set(sub, { run, ...nameOf(run, form) });
      await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
      return;
    }
    send(res, 405, page('Error', '<p id="error">método no permitido</p>'));
  } catch (err) {
    send(res, 400, page('Error', `<p id="error">${esc(err.name)}</p>`));
  }
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
console.log(`listening ${issuer}`);
