// What the JavaScript client tests share: the `idpool serve` process driver, SDK v3 clients
// signed with the root keys, and the guest-pool setup (IAM role + identity pool) they all use.

import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CognitoIdentityClient, CreateIdentityPoolCommand, SetIdentityPoolRolesCommand } from '@aws-sdk/client-cognito-identity';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';

// Whatever the calling shell exports, the SDK must see only what the tests pass it
// (AWS_ENDPOINT_URL or AWS_PROFILE would otherwise redirect or re-sign requests).
for (const key of Object.keys(process.env)) {
  if (key.startsWith('AWS_')) delete process.env[key];
}
// The pinned SDK runs on Node 20; its notice about future releases needing Node 22 is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REGION = 'us-east-1';
export const ACCOUNT_ID = '000000000000';
export const ROOT_ACCESS_KEY_ID = 'AKIDIDPOOLJSSUITE001';
const ROOT_SECRET_ACCESS_KEY = 'js-suite-secret/NotUsedAnywhereElse+0001';

/** A fresh object each time: the SDK records where credentials came from on the object itself. */
export function rootCredentials() {
  return { accessKeyId: ROOT_ACCESS_KEY_ID, secretAccessKey: ROOT_SECRET_ACCESS_KEY };
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const HEALTH_PROBE_TIMEOUT_MS = 1_000;

export function idpoolBinary() {
  if (process.env.IDPOOL_BIN) return process.env.IDPOOL_BIN;
  const target = process.env.CARGO_TARGET_DIR
    ? path.resolve(REPO, process.env.CARGO_TARGET_DIR)
    : path.join(REPO, 'target');
  return path.join(target, 'debug', 'idpool');
}

/** A loopback TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One `idpool serve` process on 127.0.0.1 with its own data directory and settings file
 * (empty unless `settings`, TOML text, is given; `writeSettings` replaces it before a start).
 */
export class IdpoolServer {
  constructor({ settings = '' } = {}) {
    this.workdir = mkdtempSync(path.join(os.tmpdir(), 'idpool-js-'));
    this.dataDir = path.join(this.workdir, 'data');
    this.configPath = path.join(this.workdir, 'idpool.toml');
    this.logPath = path.join(this.workdir, 'server.log');
    this.child = null;
    this.exitStatus = null;
    this.port = null;
    writeFileSync(this.configPath, settings);
    this.killOnExit = () => this.child?.kill('SIGKILL');
  }

  writeSettings(settings) {
    writeFileSync(this.configPath, settings);
  }

  get endpoint() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    if (this.child) throw new Error('idpool is already running');
    this.port = await freePort();
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('IDPOOL_') && !k.startsWith('AWS_')),
    );
    env.IDPOOL_ROOT_ACCESS_KEY_ID = ROOT_ACCESS_KEY_ID;
    env.IDPOOL_ROOT_SECRET_ACCESS_KEY = ROOT_SECRET_ACCESS_KEY;
    env.IDPOOL_LOG = 'info';
    env.NO_COLOR = '1';
    const log = openSync(this.logPath, 'a');
    try {
      this.child = spawn(
        idpoolBinary(),
        ['serve', '--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir, '--config', this.configPath],
        { cwd: this.workdir, env, stdio: ['ignore', log, log] },
      );
    } finally {
      closeSync(log);
    }
    this.exitStatus = null;
    const child = this.child;
    const exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ?? code));
      child.once('error', (err) => resolve(`spawn error: ${err.message}`));
    });
    this.exited = exited.then((status) => {
      this.exitStatus = status;
      return status;
    });
    process.once('exit', this.killOnExit);

    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.exitStatus !== null) {
        this.child = null;
        throw new Error(`idpool exited (${this.exitStatus}) at start:\n${this.logTail()}`);
      }
      try {
        const res = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(HEALTH_PROBE_TIMEOUT_MS) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    await this.stop();
    throw new Error(`idpool did not answer /health within ${START_TIMEOUT_MS} ms:\n${this.logTail()}`);
  }

  /** SIGTERM, then SIGKILL when it has not exited in time; resolves to the exit status. */
  async stop() {
    const child = this.child;
    if (!child) return this.exitStatus;
    this.child = null;
    if (this.exitStatus === null) {
      child.kill('SIGTERM');
      const timedOut = Symbol('timeout');
      let timer;
      const first = await Promise.race([
        this.exited,
        new Promise((resolve) => { timer = setTimeout(() => resolve(timedOut), STOP_TIMEOUT_MS); }),
      ]);
      clearTimeout(timer);
      if (first === timedOut) {
        child.kill('SIGKILL');
        await this.exited;
      }
    }
    process.removeListener('exit', this.killOnExit);
    return this.exitStatus;
  }

  logTail(lines = 40) {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  removeWorkdir() {
    rmSync(this.workdir, { recursive: true, force: true });
  }
}

/** Client settings shared by every SDK client: our endpoint, one attempt, no retries to hide errors. */
export function clientConfig(endpoint, extra = {}) {
  return { region: REGION, endpoint, maxAttempts: 1, ...extra };
}

export function rootClients(endpoint) {
  return {
    iam: new IAMClient(clientConfig(endpoint, { credentials: rootCredentials() })),
    cognito: new CognitoIdentityClient(clientConfig(endpoint, { credentials: rootCredentials() })),
    sts: new STSClient(clientConfig(endpoint, { credentials: rootCredentials() })),
  };
}

export function roleArn(roleName) {
  return `arn:aws:iam::${ACCOUNT_ID}:role/${roleName}`;
}

/**
 * Creates an identity pool that admits guests and a role guests can assume, as an administrator
 * would with the SDK: the pool first, because the role's trust policy names the pool id.
 */
export async function createGuestPool(endpoint, { poolName, roleName }) {
  const { iam, cognito } = rootClients(endpoint);
  try {
    const pool = await cognito.send(new CreateIdentityPoolCommand({
      IdentityPoolName: poolName,
      AllowUnauthenticatedIdentities: true,
    }));
    const identityPoolId = pool.IdentityPoolId;

    const trustPolicy = {
      Version: '2012-10-17',
      Statement: [{
        Effect: 'Allow',
        Principal: { Federated: 'cognito-identity.amazonaws.com' },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: { 'cognito-identity.amazonaws.com:aud': identityPoolId },
          'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'unauthenticated' },
        },
      }],
    };
    const role = await iam.send(new CreateRoleCommand({
      RoleName: roleName,
      AssumeRolePolicyDocument: JSON.stringify(trustPolicy),
    }));
    const arn = role.Role.Arn;

    const permissions = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/public/*' }],
    };
    await iam.send(new PutRolePolicyCommand({
      RoleName: roleName,
      PolicyName: 'guest-read-public',
      PolicyDocument: JSON.stringify(permissions),
    }));

    await cognito.send(new SetIdentityPoolRolesCommand({
      IdentityPoolId: identityPoolId,
      Roles: { unauthenticated: arn },
    }));
    return { identityPoolId, roleName, roleArn: arn, pool };
  } finally {
    iam.destroy();
    cognito.destroy();
  }
}

/** Changes one character in the middle of `text` to another of the same kind (letter or digit). */
export function alterOneCharacter(text) {
  const i = Math.floor(text.length / 2);
  const c = text[i];
  let replacement;
  if (/[0-9]/.test(c)) replacement = c === '7' ? '3' : '7';
  else if (/[a-z]/.test(c)) replacement = c === 'q' ? 'x' : 'q';
  else if (/[A-Z]/.test(c)) replacement = c === 'Q' ? 'X' : 'Q';
  else replacement = 'Q';
  return text.slice(0, i) + replacement + text.slice(i + 1);
}

export const IDENTITY_ID_PATTERN = /^us-east-1:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Wraps a test body so that a failure also shows the end of the server's log. */
export function withServerLog(server, body) {
  return async (t) => {
    try {
      await body(t);
    } catch (error) {
      t.diagnostic('idpool log tail:');
      for (const line of server.logTail(30).split('\n').filter(Boolean)) t.diagnostic(line);
      throw error;
    }
  };
}
