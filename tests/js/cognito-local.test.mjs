// A user pool emulator on loopback (cognito-local) issuing real user-pool ID tokens, trusted by an
// identity pool in idpool: first with the SDK in Node, then Amplify v6 in headless Chromium signing
// in against the emulator and getting credentials from idpool, twice, for the same identity.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  CognitoIdentityClient,
  CreateIdentityPoolCommand,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
  SetIdentityPoolRolesCommand,
} from '@aws-sdk/client-cognito-identity';
import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

import {
  ACCOUNT_ID,
  IDENTITY_ID_PATTERN,
  IdpoolServer,
  alterOneCharacter,
  clientConfig,
  freePort,
  rootClients,
  withServerLog,
} from './support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const START_TIMEOUT_MS = 30_000;
const PAGE_TIMEOUT_MS = 30_000;
const ROLE_NAME = 'js-userpool-authenticated-role';
const USERNAME = 'alice@example.com';
const PASSWORD = 'Correct-Horse-42!';
const OTHER_USERNAME = 'bob@example.com';
// Users the ServerSideTokenCheck test deletes and disables; the other tests never use them.
const DELETED_USERNAME = 'carol@example.com';
const DISABLED_USERNAME = 'dave@example.com';
const USER_GONE = 'Invalid login token. The user no longer exists or is disabled in the user pool.';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** cognito-local as a child process on a loopback port, its state in a folder of its own. */
class CognitoLocal {
  constructor(workdir) {
    this.workdir = workdir;
    this.logPath = path.join(workdir, 'cognito-local.log');
    this.child = null;
  }

  get endpoint() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    this.port = await freePort();
    const log = openSync(this.logPath, 'a');
    try {
      this.child = spawn(
        process.execPath,
        [path.join(here, 'node_modules', 'cognito-local', 'lib', 'bin', 'start.js')],
        {
          cwd: this.workdir,
          env: { PATH: process.env.PATH, HOME: this.workdir, HOST: '127.0.0.1', PORT: String(this.port) },
          stdio: ['ignore', log, log],
        },
      );
    } finally {
      closeSync(log);
    }
    const child = this.child;
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    let exited = null;
    child.once('exit', (code, signal) => {
      exited = signal ?? code;
      process.removeListener('exit', killOnExit);
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exited !== null) throw new Error(`cognito-local exited (${exited}):\n${this.logTail()}`);
      try {
        const res = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`cognito-local did not answer /health in time:\n${this.logTail()}`);
  }

  async stop() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  }

  logTail(lines = 30) {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** The user-pool page (page/userpool-app.js bundled) and a blank HTML page around it, on a port of its own. */
async function startPageServer(outdir) {
  const bundle = path.join(outdir, 'userpool-app.js');
  await build({
    entryPoints: [path.join(here, 'page', 'userpool-app.js')],
    outfile: bundle,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    sourcemap: 'inline',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const html = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>idpool user pool sign-in</title></head>'
    + '<body><p>Status: <span id="status">loading</span></p><script src="app.js"></script></body></html>';
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url, 'http://127.0.0.1').pathname;
    if (req.method === 'GET' && (pathname === '/' || pathname === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
    } else if (req.method === 'GET' && pathname === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(readFileSync(bundle));
    } else {
      res.writeHead(pathname === '/favicon.ico' ? 204 : 404).end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}

function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'idpool-js-cognito-local-'));
const userPools = new CognitoLocal(scratch);
const idpool = new IdpoolServer();
let idp;
let cognito;
let userPoolId;
let userPoolClientId;
let providerName;
let identityPoolId;
let aliasedPoolId;
let checkedPoolId;
let pageServer;
let browser;

async function passwordSignIn(username) {
  const out = await idp.send(new InitiateAuthCommand({
    AuthFlow: 'USER_PASSWORD_AUTH',
    ClientId: userPoolClientId,
    AuthParameters: { USERNAME: username, PASSWORD },
  }));
  assert.ok(out.AuthenticationResult?.IdToken, `no ID token: ${JSON.stringify(out)}`);
  return out.AuthenticationResult.IdToken;
}

async function createUser(username) {
  await idp.send(new AdminCreateUserCommand({
    UserPoolId: userPoolId,
    Username: username,
    MessageAction: 'SUPPRESS',
    UserAttributes: [{ Name: 'email', Value: username }, { Name: 'email_verified', Value: 'true' }],
  }));
  await idp.send(new AdminSetUserPasswordCommand({
    UserPoolId: userPoolId, Username: username, Password: PASSWORD, Permanent: true,
  }));
}

/** The name the pool would have on AWS, which the tokens of the emulator do not carry as issuer. */
function awsProviderName() {
  return `cognito-idp.us-east-1.amazonaws.com/${userPoolId}`;
}

async function getId(token) {
  const out = await cognito.send(new GetIdCommand({ IdentityPoolId: identityPoolId, Logins: { [providerName]: token } }));
  return out.IdentityId;
}

describe('cognito-local user pool tokens', { timeout: 240_000 }, () => {
  before(async () => {
    await userPools.start();
    // cognito-local accepts any signature; the SDK just needs something to sign with.
    idp = new CognitoIdentityProviderClient(clientConfig(userPools.endpoint, {
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }));
    const pool = await idp.send(new CreateUserPoolCommand({ PoolName: 'idpool-js-users' }));
    userPoolId = pool.UserPool.Id;
    const appClient = await idp.send(new CreateUserPoolClientCommand({
      UserPoolId: userPoolId,
      ClientName: 'idpool-js-web',
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    }));
    userPoolClientId = appClient.UserPoolClient.ClientId;
    await createUser(USERNAME);
    await createUser(OTHER_USERNAME);
    await createUser(DELETED_USERNAME);
    await createUser(DISABLED_USERNAME);
    // The Logins key is the issuer without its scheme; on loopback idpool expects `http://` + that.
    providerName = `127.0.0.1:${userPools.port}/${userPoolId}`;

    // Apps that keep the AWS provider name as Logins key reach the emulator through an override.
    // ServerSideTokenCheck asks the emulator's AdminGetUser, signed with these (it accepts any).
    idpool.writeSettings([
      'user_pool_access_key_id = "AKIDIDPOOLJSUSERPOOL"',
      'user_pool_secret_access_key = "js-user-pool-check-secret"',
      '',
      '[[idp_override]]',
      `provider = "${awsProviderName()}"`,
      `issuer = "http://${providerName}"`,
      '',
      '[[idp_override]]',
      `provider = "${providerName}"`,
      `user_pool_api_url = "${userPools.endpoint}/"`,
      '',
    ].join('\n'));
    await idpool.start();
    const admin = rootClients(idpool.endpoint);
    try {
      const created = await admin.cognito.send(new CreateIdentityPoolCommand({
        IdentityPoolName: 'js_cognito_local',
        AllowUnauthenticatedIdentities: false,
        CognitoIdentityProviders: [{ ProviderName: providerName, ClientId: userPoolClientId }],
      }));
      identityPoolId = created.IdentityPoolId;
      const aliased = await admin.cognito.send(new CreateIdentityPoolCommand({
        IdentityPoolName: 'js_cognito_local_aws_name',
        AllowUnauthenticatedIdentities: false,
        CognitoIdentityProviders: [{ ProviderName: awsProviderName(), ClientId: userPoolClientId }],
      }));
      aliasedPoolId = aliased.IdentityPoolId;
      const checked = await admin.cognito.send(new CreateIdentityPoolCommand({
        IdentityPoolName: 'js_cognito_local_checked',
        AllowUnauthenticatedIdentities: false,
        CognitoIdentityProviders: [{ ProviderName: providerName, ClientId: userPoolClientId, ServerSideTokenCheck: true }],
      }));
      checkedPoolId = checked.IdentityPoolId;
      const role = await admin.iam.send(new CreateRoleCommand({
        RoleName: ROLE_NAME,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{
            Effect: 'Allow',
            Principal: { Federated: 'cognito-identity.amazonaws.com' },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: { 'cognito-identity.amazonaws.com:aud': [identityPoolId, aliasedPoolId, checkedPoolId] },
              'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
            },
          }],
        }),
      }));
      for (const poolId of [identityPoolId, aliasedPoolId, checkedPoolId]) {
        await admin.cognito.send(new SetIdentityPoolRolesCommand({
          IdentityPoolId: poolId,
          Roles: { authenticated: role.Role.Arn },
        }));
      }
    } finally {
      admin.iam.destroy();
      admin.cognito.destroy();
      admin.sts.destroy();
    }
    cognito = new CognitoIdentityClient(clientConfig(idpool.endpoint));
  });

  after(async () => {
    await browser?.close();
    if (pageServer) {
      pageServer.closeAllConnections();
      await new Promise((resolve) => pageServer.close(resolve));
    }
    idp?.destroy();
    cognito?.destroy();
    await idpool.stop();
    idpool.removeWorkdir();
    await userPools.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('the emulator issues ID tokens whose issuer is the provider name over http', withServerLog(idpool, async () => {
    const claims = claimsOf(await passwordSignIn(USERNAME));
    assert.equal(claims.iss, `http://${providerName}`);
    assert.equal(claims.aud, userPoolClientId);
    assert.equal(claims.token_use, 'id');
  }));

  test('SDK: a user-pool ID token gets an identity and role credentials', withServerLog(idpool, async () => {
    const token = await passwordSignIn(USERNAME);
    const identityId = await getId(token);
    assert.match(identityId, IDENTITY_ID_PATTERN);
    const out = await cognito.send(new GetCredentialsForIdentityCommand({
      IdentityId: identityId,
      Logins: { [providerName]: token },
    }));
    assert.equal(out.IdentityId, identityId);
    assert.match(out.Credentials.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);
    const sts = new STSClient(clientConfig(idpool.endpoint, {
      credentials: {
        accessKeyId: out.Credentials.AccessKeyId,
        secretAccessKey: out.Credentials.SecretKey,
        sessionToken: out.Credentials.SessionToken,
      },
    }));
    try {
      const who = await sts.send(new GetCallerIdentityCommand({}));
      assert.match(who.Arn, new RegExp(`^arn:aws:sts::${ACCOUNT_ID}:assumed-role/${ROLE_NAME}/`));
    } finally {
      sts.destroy();
    }

    // A second sign-in is a new token for the same user: same identity. Another user: another.
    assert.equal(await getId(await passwordSignIn(USERNAME)), identityId);
    const other = await getId(await passwordSignIn(OTHER_USERNAME));
    assert.match(other, IDENTITY_ID_PATTERN);
    assert.notEqual(other, identityId);
  }));

  test('SDK: a user-pool token with an altered signature is refused', withServerLog(idpool, async (t) => {
    const [header, payload, signature] = (await passwordSignIn(USERNAME)).split('.');
    let refusal;
    try {
      await getId([header, payload, alterOneCharacter(signature)].join('.'));
    } catch (error) {
      refusal = error;
    }
    assert.ok(refusal, 'GetId accepted a token with an altered signature');
    assert.equal(refusal.name, 'NotAuthorizedException', `${refusal.name}: ${refusal.message}`);
    t.diagnostic(`refusal: ${refusal.message}`);
  }));

  test('SDK: with an idp_override the AWS provider name takes the emulator\'s tokens', withServerLog(idpool, async () => {
    const token = await passwordSignIn(USERNAME);
    const out = await cognito.send(new GetIdCommand({ IdentityPoolId: aliasedPoolId, Logins: { [awsProviderName()]: token } }));
    assert.match(out.IdentityId, IDENTITY_ID_PATTERN);
    const creds = await cognito.send(new GetCredentialsForIdentityCommand({
      IdentityId: out.IdentityId,
      Logins: { [awsProviderName()]: token },
    }));
    assert.equal(creds.IdentityId, out.IdentityId);
    assert.match(creds.Credentials.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);

    // The override says where the keys are; signatures are still checked against them.
    const [header, payload, signature] = token.split('.');
    let refusal;
    try {
      await cognito.send(new GetIdCommand({
        IdentityPoolId: aliasedPoolId,
        Logins: { [awsProviderName()]: [header, payload, alterOneCharacter(signature)].join('.') },
      }));
    } catch (error) {
      refusal = error;
    }
    assert.equal(refusal?.name, 'NotAuthorizedException', 'an altered token passed under the AWS name');
  }));

  test('SDK: with ServerSideTokenCheck a deleted or disabled user\'s still-valid token is refused', withServerLog(idpool, async () => {
    const credentialsFor = (identityId, token) => cognito.send(new GetCredentialsForIdentityCommand({
      IdentityId: identityId,
      Logins: { [providerName]: token },
    }));
    const refusalOf = async (call) => {
      try {
        await call();
      } catch (error) {
        return error;
      }
      return null;
    };
    const cases = [
      [DELETED_USERNAME, AdminDeleteUserCommand],
      [DISABLED_USERNAME, AdminDisableUserCommand],
    ];
    for (const [username, Revoke] of cases) {
      const token = await passwordSignIn(username);
      const { IdentityId: identityId } = await cognito.send(new GetIdCommand({
        IdentityPoolId: checkedPoolId,
        Logins: { [providerName]: token },
      }));
      assert.match(identityId, IDENTITY_ID_PATTERN);
      const out = await credentialsFor(identityId, token);
      assert.match(out.Credentials.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);

      await idp.send(new Revoke({ UserPoolId: userPoolId, Username: username }));
      // The token itself is unchanged and unexpired; only the user pool's answer differs.
      assert.ok(claimsOf(token).exp * 1000 > Date.now());
      const refusal = await refusalOf(() => credentialsFor(identityId, token));
      assert.equal(refusal?.name, 'NotAuthorizedException', `${username}: ${refusal?.name}: ${refusal?.message}`);
      assert.equal(refusal.message, USER_GONE);
      assert.equal(refusal.$metadata.httpStatusCode, 400);
      const again = await refusalOf(() => cognito.send(new GetIdCommand({
        IdentityPoolId: checkedPoolId,
        Logins: { [providerName]: token },
      })));
      assert.equal(again?.name, 'NotAuthorizedException');
      // A pool without the check still takes the same token.
      assert.match(await getId(token), IDENTITY_ID_PATTERN);
    }
  }));

  test('Amplify v6 in Chromium: sign in, credentials, sign out, sign in again: same identity', withServerLog(idpool, async (t) => {
    pageServer = await startPageServer(path.join(scratch, 'page'));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: START_TIMEOUT_MS });
    const page = await browser.newPage();
    const consoleLines = [];
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
    const calls = [];
    page.on('response', (response) => {
      const url = response.url();
      const to = url.startsWith(idpool.endpoint) ? 'idpool' : url.startsWith(userPools.endpoint) ? 'user pool' : null;
      if (to) calls.push({ to, status: response.status(), target: response.request().headers()['x-amz-target'] });
    });
    const run = async (name, ...args) => {
      const result = await page.evaluate(([n, a]) => window.idpoolUserPool[n](...a), [name, args]);
      assert.equal(result.error, undefined, `${name}: ${result.error}`);
      return result;
    };

    try {
      const pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;
      await page.goto(`${pageOrigin}/index.html`, { timeout: PAGE_TIMEOUT_MS });
      await page.waitForFunction(() => window.idpoolUserPool !== undefined, null, { timeout: PAGE_TIMEOUT_MS });
      await run('configure', {
        userPoolId,
        userPoolClientId,
        userPoolEndpoint: userPools.endpoint,
        identityPoolId,
        identityPoolEndpoint: idpool.endpoint,
      });

      const signedIn = await run('signIn', USERNAME, PASSWORD);
      assert.deepEqual(signedIn, { isSignedIn: true, nextStep: 'DONE' });
      const first = await run('session');
      assert.equal(first.idTokenIssuer, `http://${providerName}`);
      assert.match(first.identityId ?? '', IDENTITY_ID_PATTERN);
      assert.match(first.accessKeyId ?? '', /^ASIA[A-Z0-9]{16}$/);
      assert.ok(first.hasSecretAccessKey && first.hasSessionToken, 'credentials without secret or session token');

      const getIdCalls = () => calls.filter((c) => c.target === 'AWSCognitoIdentityService.GetId').length;
      const getIdBefore = getIdCalls();
      await run('signOut');
      await run('signIn', USERNAME, PASSWORD);
      const second = await run('session');
      // Sign-out forgets the identity id, so this one came from idpool again, not from Amplify's store.
      assert.ok(getIdCalls() > getIdBefore, `no GetId after the second sign-in: ${JSON.stringify(calls)}`);
      assert.equal(second.identityId, first.identityId, 'a second sign-in reached another identity');
      assert.match(second.accessKeyId ?? '', /^ASIA[A-Z0-9]{16}$/);
      assert.notEqual(second.accessKeyId, first.accessKeyId, 'the second sign-in reused the first credentials');

      // Everything Amplify asked of idpool and of the emulator was answered, and with success.
      const idpoolTargets = calls.filter((c) => c.to === 'idpool').map((c) => c.target);
      assert.ok(idpoolTargets.includes('AWSCognitoIdentityService.GetId'), `no GetId: ${JSON.stringify(calls)}`);
      assert.ok(
        idpoolTargets.includes('AWSCognitoIdentityService.GetCredentialsForIdentity'),
        `no GetCredentialsForIdentity: ${JSON.stringify(calls)}`,
      );
      assert.ok(calls.some((c) => c.to === 'user pool' && c.target?.endsWith('.InitiateAuth')), `no InitiateAuth: ${JSON.stringify(calls)}`);
      for (const call of calls) {
        if (call.target) assert.equal(call.status, 200, `a call failed: ${JSON.stringify(call)}`);
      }
    } catch (error) {
      t.diagnostic(`calls: ${JSON.stringify(calls)}`);
      for (const line of consoleLines) t.diagnostic(`browser ${line}`);
      for (const line of userPools.logTail(15).split('\n').filter(Boolean)) t.diagnostic(`cognito-local ${line}`);
      throw error;
    } finally {
      await page.close();
    }
  }));
});
