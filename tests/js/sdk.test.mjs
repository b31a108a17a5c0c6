// The AWS SDK for JavaScript v3 in Node against the real idpool binary: the enhanced flow through
// fromCognitoIdentityPool and the basic flow through GetOpenIdToken + STS, each checked by
// STS GetCallerIdentity with the credentials it produced.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CognitoIdentityClient, GetIdCommand, GetOpenIdTokenCommand } from '@aws-sdk/client-cognito-identity';
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromCognitoIdentityPool } from '@aws-sdk/credential-providers';

import {
  ACCOUNT_ID, IDENTITY_ID_PATTERN, IdpoolServer, alterOneCharacter, clientConfig, createGuestPool, roleArn, withServerLog,
} from './support.mjs';

const ROLE_NAME = 'js-sdk-guest-role';
const HOUR_MS = 3_600_000;

const server = new IdpoolServer();
let guestPool;

function callerIdentity(endpoint, credentials) {
  const sts = new STSClient(clientConfig(endpoint, { credentials }));
  return sts.send(new GetCallerIdentityCommand({})).finally(() => sts.destroy());
}

/** Asserts that `promise` was refused by the server with an AWS error, not by the network. */
async function assertAwsRefusal(promise, what) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error, `${what}: GetCallerIdentity succeeded`);
  const status = error.$metadata?.httpStatusCode;
  assert.ok(
    Number.isInteger(status) && status >= 400 && status < 500,
    `${what}: expected an AWS 4xx error, got ${error.name}: ${error.message} (HTTP ${status})`,
  );
  assert.equal(error.$fault, 'client', `${what}: ${error.name} is not a client fault`);
  assert.ok(error.name && error.name !== 'Error' && error.name !== 'TypeError', `${what}: untyped error ${error.name}`);
  return error;
}

describe('AWS SDK for JavaScript v3 (Node)', { timeout: 120_000 }, () => {
  before(async () => {
    await server.start();
    guestPool = await createGuestPool(server.endpoint, { poolName: 'js_sdk_guests', roleName: ROLE_NAME });
    assert.equal(guestPool.roleArn, roleArn(ROLE_NAME));
    assert.match(guestPool.identityPoolId, IDENTITY_ID_PATTERN);
  });

  after(async () => {
    await server.stop();
    server.removeWorkdir();
  });

  test('A: fromCognitoIdentityPool gives guest credentials that STS knows as the role session', withServerLog(server, async () => {
    const requestedAt = Date.now();
    const credentials = await fromCognitoIdentityPool({
      identityPoolId: guestPool.identityPoolId,
      clientConfig: clientConfig(server.endpoint),
    })();

    assert.match(credentials.identityId, IDENTITY_ID_PATTERN);
    assert.match(credentials.accessKeyId, /^ASIA[A-Z0-9]{16}$/);
    assert.ok(credentials.secretAccessKey, 'no secret access key');
    assert.ok(credentials.sessionToken, 'no session token');
    assert.ok(credentials.expiration instanceof Date, 'no expiration');
    const lifetime = credentials.expiration.getTime() - requestedAt;
    assert.ok(
      lifetime > HOUR_MS - 120_000 && lifetime <= HOUR_MS + 120_000,
      `expiration ${credentials.expiration.toISOString()} is not about one hour ahead`,
    );

    const who = await callerIdentity(server.endpoint, credentials);
    assert.equal(who.Arn, `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${ROLE_NAME}/CognitoIdentityCredentials`);
    assert.equal(who.Account, ACCOUNT_ID);
    assert.match(who.UserId, /^AROA[A-Z0-9]+:CognitoIdentityCredentials$/);

    const badToken = { ...credentials, sessionToken: alterOneCharacter(credentials.sessionToken) };
    assert.notEqual(badToken.sessionToken, credentials.sessionToken);
    await assertAwsRefusal(callerIdentity(server.endpoint, badToken), 'altered session token');

    const badSecret = { ...credentials, secretAccessKey: alterOneCharacter(credentials.secretAccessKey) };
    assert.notEqual(badSecret.secretAccessKey, credentials.secretAccessKey);
    const refusal = await assertAwsRefusal(callerIdentity(server.endpoint, badSecret), 'altered secret');
    assert.equal(refusal.name, 'SignatureDoesNotMatch');

    // The untouched credentials still work: the refusals were about the alterations alone.
    const again = await callerIdentity(server.endpoint, credentials);
    assert.equal(again.Arn, who.Arn);
  }));

  test('B: basic flow GetId -> GetOpenIdToken -> AssumeRoleWithWebIdentity -> GetCallerIdentity', withServerLog(server, async () => {
    // No credentials: the three calls before GetCallerIdentity are public, as for a real guest.
    const cognito = new CognitoIdentityClient(clientConfig(server.endpoint));
    const sts = new STSClient(clientConfig(server.endpoint));
    try {
      const { IdentityId } = await cognito.send(new GetIdCommand({ IdentityPoolId: guestPool.identityPoolId }));
      assert.match(IdentityId, IDENTITY_ID_PATTERN);

      const openId = await cognito.send(new GetOpenIdTokenCommand({ IdentityId }));
      assert.equal(openId.IdentityId, IdentityId);
      assert.equal(openId.Token.split('.').length, 3, 'the OpenID token is not a JWT');
      const claims = JSON.parse(Buffer.from(openId.Token.split('.')[1], 'base64url').toString('utf8'));
      assert.equal(claims.sub, IdentityId);
      assert.equal(claims.aud, guestPool.identityPoolId);

      const sessionName = 'js-basic-flow';
      const assumed = await sts.send(new AssumeRoleWithWebIdentityCommand({
        RoleArn: guestPool.roleArn,
        RoleSessionName: sessionName,
        WebIdentityToken: openId.Token,
      }));
      const expectedArn = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${ROLE_NAME}/${sessionName}`;
      assert.equal(assumed.AssumedRoleUser.Arn, expectedArn);
      assert.equal(assumed.SubjectFromWebIdentityToken, IdentityId);
      assert.match(assumed.Credentials.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);

      const who = await callerIdentity(server.endpoint, {
        accessKeyId: assumed.Credentials.AccessKeyId,
        secretAccessKey: assumed.Credentials.SecretAccessKey,
        sessionToken: assumed.Credentials.SessionToken,
      });
      assert.equal(who.Arn, expectedArn);
      assert.equal(who.Account, ACCOUNT_ID);
    } finally {
      cognito.destroy();
      sts.destroy();
    }
  }));
});
