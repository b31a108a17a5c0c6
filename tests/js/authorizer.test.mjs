// The authorizer for resource servers (POST /authorize) on S3 requests signed by the AWS SDK for
// JavaScript v3 (@aws-sdk/client-s3 and its presigner) with credentials from idpool's guest,
// basic and developer-authenticated flows. The S3 requests are captured by a request handler
// that never sends them; the authorizer gets their method, URL and headers instead.

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import {
  CognitoIdentityClient,
  CreateIdentityPoolCommand,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
  GetOpenIdTokenCommand,
  GetOpenIdTokenForDeveloperIdentityCommand,
  SetIdentityPoolRolesCommand,
} from '@aws-sdk/client-cognito-identity';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

import {
  ACCOUNT_ID, IdpoolServer, REGION, alterOneCharacter, clientConfig, rootClients, rootCredentials, withServerLog,
} from './support.mjs';

const PROVIDER = 'login.storage.test';
const COGNITO_LOGIN = 'cognito-identity.amazonaws.com';
const BUCKET = 'bucket';
// Requests are signed for this endpoint; nothing is ever sent to it.
const STORAGE = 'http://storage.test:9000';

const server = new IdpoolServer();
let setup;

function trustPolicy(poolId, amr) {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{
      Effect: 'Allow',
      Principal: { Federated: COGNITO_LOGIN },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: { 'cognito-identity.amazonaws.com:aud': poolId },
        'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': amr },
      },
    }],
  });
}

const GUEST_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/public/*` }],
};
const USER_POLICY = {
  Version: '2012-10-17',
  Statement: [{
    Effect: 'Allow',
    Action: ['s3:PutObject', 's3:GetObject'],
    Resource: `arn:aws:s3:::${BUCKET}/user-\${cognito-identity.amazonaws.com:sub}/*`,
  }],
};

function fromCognito(c) {
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey ?? c.SecretAccessKey, sessionToken: c.SessionToken };
}

/** A pool with a guest role (read public/) and a user role (write own prefix), and credentials. */
async function createStorage(endpoint) {
  const { iam, cognito } = rootClients(endpoint);
  const anonymous = new CognitoIdentityClient(clientConfig(endpoint));
  const sts = new STSClient(clientConfig(endpoint));
  try {
    const { IdentityPoolId: poolId } = await cognito.send(new CreateIdentityPoolCommand({
      IdentityPoolName: 'js_storage',
      AllowUnauthenticatedIdentities: true,
      AllowClassicFlow: true,
      DeveloperProviderName: PROVIDER,
    }));
    const roles = {};
    for (const [kind, name, policy] of [
      ['unauthenticated', 'js-storage-guest', GUEST_POLICY],
      ['authenticated', 'js-storage-user', USER_POLICY],
    ]) {
      const role = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustPolicy(poolId, kind) }));
      await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'storage', PolicyDocument: JSON.stringify(policy) }));
      roles[kind] = role.Role.Arn;
    }
    await cognito.send(new SetIdentityPoolRolesCommand({ IdentityPoolId: poolId, Roles: roles }));

    // The guest, enhanced flow.
    const { IdentityId: guestId } = await anonymous.send(new GetIdCommand({ IdentityPoolId: poolId }));
    const guest = await anonymous.send(new GetCredentialsForIdentityCommand({ IdentityId: guestId }));

    // Another guest, basic flow: GetOpenIdToken, then STS with a session name of its own.
    const { IdentityId: basicId } = await anonymous.send(new GetIdCommand({ IdentityPoolId: poolId }));
    const openId = await anonymous.send(new GetOpenIdTokenCommand({ IdentityId: basicId }));
    const assumed = await sts.send(new AssumeRoleWithWebIdentityCommand({
      RoleArn: roles.unauthenticated, RoleSessionName: 'js-basic', WebIdentityToken: openId.Token,
    }));

    // Users A and B, developer-authenticated.
    const users = {};
    for (const user of ['alice', 'bob']) {
      const got = await cognito.send(new GetOpenIdTokenForDeveloperIdentityCommand({
        IdentityPoolId: poolId, Logins: { [PROVIDER]: user },
      }));
      const creds = await anonymous.send(new GetCredentialsForIdentityCommand({
        IdentityId: got.IdentityId, Logins: { [COGNITO_LOGIN]: got.Token },
      }));
      users[user] = { identityId: got.IdentityId, credentials: fromCognito(creds.Credentials) };
    }
    return {
      poolId,
      roles,
      guest: { identityId: guestId, credentials: fromCognito(guest.Credentials) },
      basic: { identityId: basicId, credentials: fromCognito(assumed.Credentials) },
      a: users.alice,
      b: users.bob,
    };
  } finally {
    iam.destroy();
    cognito.destroy();
    anonymous.destroy();
    sts.destroy();
  }
}

class Captured extends Error {
  constructor(request) {
    super('captured');
    this.request = request;
  }
}

/** The query string as the SDK's HTTP handlers write it. */
function queryString(query = {}) {
  const escape = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const parts = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    if (value === null || value === undefined) parts.push(escape(key));
    else for (const v of Array.isArray(value) ? value : [value]) parts.push(`${escape(key)}=${escape(v)}`);
  }
  return parts.join('&');
}

function s3Client(credentials, extra = {}) {
  return new S3Client({
    region: REGION,
    endpoint: STORAGE,
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
    // A handler that keeps the signed request instead of sending it.
    requestHandler: { handle: async (request) => { throw new Captured(request); } },
    ...extra,
  });
}

/** Signs `command` as the S3 client would send it; returns the question's method, url, headers. */
async function signed(credentials, command, extra = {}) {
  const client = s3Client(credentials, extra);
  try {
    await client.send(command);
  } catch (e) {
    if (!(e instanceof Captured)) throw e;
    const r = e.request;
    const qs = queryString(r.query);
    const port = r.port ? `:${r.port}` : '';
    return {
      method: r.method,
      url: `${r.protocol}//${r.hostname}${port}${r.path}${qs ? `?${qs}` : ''}`,
      headers: { ...r.headers },
    };
  } finally {
    client.destroy();
  }
  throw new Error('the S3 client sent nothing');
}

const getObject = (credentials, key, extra) => signed(credentials, new GetObjectCommand({ Bucket: BUCKET, Key: key }), extra);
const putObject = (credentials, key, extra) =>
  signed(credentials, new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'hello storage' }), extra);

async function postAuthorize(body) {
  const res = await fetch(`${server.endpoint}/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** What the resource server does: pass the request on with the action and object it means. */
async function ask(request, action, key) {
  const { status, body } = await postAuthorize({ ...request, action, resource: `arn:aws:s3:::${BUCKET}/${key}` });
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

function assertAllowed(answer, who, roleArn) {
  assert.equal(answer.decision, 'Allow', JSON.stringify(answer));
  assert.equal(answer.reason, 'allowed by policy');
  assert.equal(answer.principal.identityId, who.identityId);
  assert.equal(answer.principal.poolId, setup.poolId);
  assert.equal(answer.principal.roleArn, roleArn);
}

function assertDeniedByPolicy(answer, who) {
  assert.equal(answer.decision, 'Deny', JSON.stringify(answer));
  assert.equal(answer.reason, 'no policy allows');
  assert.equal(answer.principal.identityId, who.identityId);
}

function assertRefused(answer, reason) {
  assert.equal(answer.decision, 'Deny', JSON.stringify(answer));
  assert.ok(answer.reason.includes(reason), `expected "${reason}" in "${answer.reason}"`);
  assert.equal(answer.principal, undefined);
}

describe('POST /authorize with S3 requests signed by the AWS SDK for JavaScript v3', { timeout: 120_000 }, () => {
  before(async () => {
    await server.start();
    setup = await createStorage(server.endpoint);
  });

  after(async () => {
    await server.stop();
    server.removeWorkdir();
  });

  test('the guest may GetObject under public/ and nothing else', withServerLog(server, async () => {
    const { guest, roles } = setup;
    const answer = await ask(await getObject(guest.credentials, 'public/photo.jpg'), 's3:GetObject', 'public/photo.jpg');
    assertAllowed(answer, guest, roles.unauthenticated);
    assert.equal(answer.principal.sessionName, 'CognitoIdentityCredentials');
    assert.equal(
      answer.principal.arn,
      `arn:aws:sts::${ACCOUNT_ID}:assumed-role/js-storage-guest/CognitoIdentityCredentials`,
    );

    const odd = 'public/summer 2026/a+b=c&d~é.jpg';
    assertAllowed(await ask(await getObject(guest.credentials, odd), 's3:GetObject', odd), guest, roles.unauthenticated);

    assertDeniedByPolicy(await ask(await getObject(guest.credentials, 'private/x.jpg'), 's3:GetObject', 'private/x.jpg'), guest);
    assertDeniedByPolicy(await ask(await putObject(guest.credentials, 'public/x.jpg'), 's3:PutObject', 'public/x.jpg'), guest);
    const del = await signed(guest.credentials, new DeleteObjectCommand({ Bucket: BUCKET, Key: 'public/photo.jpg' }));
    assertDeniedByPolicy(await ask(del, 's3:DeleteObject', 'public/photo.jpg'), guest);
  }));

  test('basic-flow guest credentials carry their own session name', withServerLog(server, async () => {
    const { basic, roles } = setup;
    const answer = await ask(await getObject(basic.credentials, 'public/photo.jpg'), 's3:GetObject', 'public/photo.jpg');
    assertAllowed(answer, basic, roles.unauthenticated);
    assert.equal(answer.principal.sessionName, 'js-basic');
  }));

  test('presigned GetObject URLs verify, for their object and their lifetime only', withServerLog(server, async () => {
    const { guest, roles } = setup;
    const client = s3Client(guest.credentials);
    try {
      const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'public/photo.jpg' }), { expiresIn: 300 });
      assert.match(url, /X-Amz-Signature=/);
      assert.match(url, /X-Amz-Security-Token=/);
      const request = { method: 'GET', url, headers: { host: 'storage.test:9000' } };
      assertAllowed(await ask(request, 's3:GetObject', 'public/photo.jpg'), guest, roles.unauthenticated);
      const other = { ...request, url: url.replace('photo.jpg', 'other.jpg') };
      assertRefused(await ask(other, 's3:GetObject', 'public/other.jpg'), 'bad signature');

      const brief = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'public/photo.jpg' }), { expiresIn: 1 });
      await sleep(2_100);
      assertRefused(await ask({ method: 'GET', url: brief, headers: {} }, 's3:GetObject', 'public/photo.jpg'), 'expired presigned URL');
    } finally {
      client.destroy();
    }
  }));

  test('user A may PutObject under user-<A>/ and not under user B\'s', withServerLog(server, async () => {
    const { a, b, roles } = setup;
    const aKey = `user-${a.identityId}/notes.txt`;
    const bKey = `user-${b.identityId}/notes.txt`;
    const request = await putObject(a.credentials, aKey);
    assert.ok(request.headers['x-amz-content-sha256'], 'S3 requests declare their payload hash');
    assertAllowed(await ask(request, 's3:PutObject', aKey), a, roles.authenticated);
    assertAllowed(await ask(await getObject(a.credentials, aKey), 's3:GetObject', aKey), a, roles.authenticated);
    assertDeniedByPolicy(await ask(await putObject(a.credentials, bKey), 's3:PutObject', bKey), a);

    assertAllowed(await ask(await putObject(b.credentials, bKey), 's3:PutObject', bKey), b, roles.authenticated);
    assertDeniedByPolicy(await ask(await putObject(b.credentials, aKey), 's3:PutObject', aKey), b);

    // A streamed upload over TLS: aws-chunked with a trailing checksum, the body unsigned.
    const streamed = await signed(a.credentials, new PutObjectCommand({
      Bucket: BUCKET, Key: aKey, Body: Readable.from([Buffer.from('hello storage')]), ContentLength: 13,
    }), { endpoint: 'https://storage.test' });
    assert.equal(streamed.headers['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    assertAllowed(await ask(streamed, 's3:PutObject', aKey), a, roles.authenticated);

    // A's signed request cannot be pointed at B's prefix.
    const [aUuid, bUuid] = [a.identityId.split(':')[1], b.identityId.split(':')[1]];
    assert.ok(request.url.includes(aUuid));
    const moved = { ...request, url: request.url.replace(aUuid, bUuid) };
    assertRefused(await ask(moved, 's3:PutObject', bKey), 'bad signature');
  }));

  test('expired, tampered and foreign credentials are refused', withServerLog(server, async () => {
    const { a, guest } = setup;
    const key = `user-${a.identityId}/notes.txt`;

    const stale = await putObject(a.credentials, key, { systemClockOffset: -20 * 60_000 });
    assertRefused(await ask(stale, 's3:PutObject', key), 'expired signature');

    const tampered = { ...a.credentials, sessionToken: alterOneCharacter(a.credentials.sessionToken) };
    assert.notEqual(tampered.sessionToken, a.credentials.sessionToken);
    assertRefused(await ask(await putObject(tampered, key), 's3:PutObject', key), 'session token');

    const borrowed = { ...a.credentials, sessionToken: guest.credentials.sessionToken };
    assertRefused(await ask(await putObject(borrowed, key), 's3:PutObject', key), 'session token');

    const wrongSecret = { ...a.credentials, secretAccessKey: alterOneCharacter(a.credentials.secretAccessKey) };
    assertRefused(await ask(await putObject(wrongSecret, key), 's3:PutObject', key), 'bad signature');

    const foreign = {
      accessKeyId: 'ASIAQFOREIGNKEY00002',
      secretAccessKey: 'foreign/secret/key/NotIssuedByIdpool0000',
      sessionToken: 'IQoJb3JpZ2luX2VjEForeignSessionTokenNeverSealedByIdpool',
    };
    assertRefused(await ask(await putObject(foreign, key), 's3:PutObject', key), 'session token');
    const longTerm = { accessKeyId: 'AKIAQFOREIGNKEY00002', secretAccessKey: 'foreign/secret/key/x' };
    assertRefused(await ask(await putObject(longTerm, key), 's3:PutObject', key), 'unknown access key');
    assertRefused(
      await ask(await getObject(rootCredentials(), 'public/photo.jpg'), 's3:GetObject', 'public/photo.jpg'),
      'root credentials are not accepted by the authorizer',
    );
  }));

  test('a malformed question is a 400 with an AWS-style error', withServerLog(server, async () => {
    let r = await postAuthorize('{not json');
    assert.equal(r.status, 400);
    assert.equal(r.body.__type, 'SerializationException');
    r = await postAuthorize({ method: 'GET', url: '/bucket/k', action: 's3:GetObject' });
    assert.equal(r.status, 400);
    assert.equal(r.body.__type, 'InvalidParameterException');
    assert.match(r.body.message, /resource/);
  }));
});
