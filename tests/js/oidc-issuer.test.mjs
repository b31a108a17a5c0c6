// A real OpenID Connect issuer on loopback (oauth2-mock-server: discovery, JWKS and a token
// endpoint over HTTP) registered in idpool as an IAM OIDC provider: its ID tokens, fetched from
// its own token endpoint, sign users in to an identity pool and get them role credentials.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  CognitoIdentityClient,
  CreateIdentityPoolCommand,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
  SetIdentityPoolRolesCommand,
} from '@aws-sdk/client-cognito-identity';
import { CreateOpenIDConnectProviderCommand, CreateRoleCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { OAuth2Server } from 'oauth2-mock-server';

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

const CLIENT_ID = 'idpool-js-oidc-client';
const OTHER_CLIENT_ID = 'some-other-relying-party';
const ROLE_NAME = 'js-oidc-authenticated-role';

const idpool = new IdpoolServer();
const issuer = new OAuth2Server();
let issuerUrl;
let publishedKid;
let providerName;
let identityPoolId;
let cognito;

/** An ID token for `sub` and audience `clientId`, from the issuer's token endpoint over HTTP. */
async function fetchIdToken(sub, clientId = CLIENT_ID) {
  const res = await fetch(`${issuerUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username: sub, password: 'unused', client_id: clientId }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
  assert.equal(typeof body.id_token, 'string', 'the token endpoint returned no id_token');
  const claims = JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString('utf8'));
  assert.equal(claims.iss, issuerUrl);
  assert.equal(claims.sub, sub);
  assert.equal(claims.aud, clientId);
  return body.id_token;
}

async function getId(token) {
  const out = await cognito.send(new GetIdCommand({ IdentityPoolId: identityPoolId, Logins: { [providerName]: token } }));
  return out.IdentityId;
}

async function refusalOf(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('the call succeeded');
}

describe('OIDC provider on loopback (oauth2-mock-server)', { timeout: 120_000 }, () => {
  before(async () => {
    publishedKid = (await issuer.issuer.keys.generate('RS256')).kid;
    const port = await freePort();
    await issuer.start(port, '127.0.0.1');
    // The mock names itself `localhost` by default; tokens must carry the URL IAM registers.
    issuerUrl = `http://127.0.0.1:${port}`;
    issuer.issuer.url = issuerUrl;
    providerName = `127.0.0.1:${port}`;
    // The token endpoint puts a fixed `sub` in ID tokens; a password grant's username names the user here.
    issuer.service.on('beforeTokenSigning', (token, req) => {
      if (req.body?.username) token.payload.sub = req.body.username;
    });

    await idpool.start();
    const admin = rootClients(idpool.endpoint);
    try {
      const provider = await admin.iam.send(new CreateOpenIDConnectProviderCommand({
        Url: issuerUrl,
        ClientIDList: [CLIENT_ID],
        ThumbprintList: ['0'.repeat(40)],
      }));
      assert.equal(provider.OpenIDConnectProviderArn, `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${providerName}`);

      const pool = await admin.cognito.send(new CreateIdentityPoolCommand({
        IdentityPoolName: 'js_oidc_issuer',
        AllowUnauthenticatedIdentities: false,
        OpenIdConnectProviderARNs: [provider.OpenIDConnectProviderArn],
      }));
      identityPoolId = pool.IdentityPoolId;

      const role = await admin.iam.send(new CreateRoleCommand({
        RoleName: ROLE_NAME,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{
            Effect: 'Allow',
            Principal: { Federated: 'cognito-identity.amazonaws.com' },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: { 'cognito-identity.amazonaws.com:aud': identityPoolId },
              'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
            },
          }],
        }),
      }));
      await admin.cognito.send(new SetIdentityPoolRolesCommand({
        IdentityPoolId: identityPoolId,
        Roles: { authenticated: role.Role.Arn },
      }));
    } finally {
      admin.iam.destroy();
      admin.cognito.destroy();
      admin.sts.destroy();
    }
    // Unsigned, as a browser or mobile app calls these.
    cognito = new CognitoIdentityClient(clientConfig(idpool.endpoint));
  });

  after(async () => {
    cognito?.destroy();
    if (issuer.issuer.url) await issuer.stop().catch(() => {});
    await idpool.stop();
    idpool.removeWorkdir();
  });

  test('an ID token from the token endpoint gets an identity and role credentials', withServerLog(idpool, async () => {
    const token = await fetchIdToken('alice');
    const identityId = await getId(token);
    assert.match(identityId, IDENTITY_ID_PATTERN);

    const out = await cognito.send(new GetCredentialsForIdentityCommand({
      IdentityId: identityId,
      Logins: { [providerName]: token },
    }));
    assert.equal(out.IdentityId, identityId);
    assert.match(out.Credentials.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);
    assert.ok(out.Credentials.SecretKey && out.Credentials.SessionToken, 'credentials without secret or session token');

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
  }));

  test('a fresh token for the same subject reaches the same identity; another subject another', withServerLog(idpool, async () => {
    const first = await getId(await fetchIdToken('bob'));
    const secondToken = await fetchIdToken('bob');
    const second = await getId(secondToken);
    assert.equal(second, first);

    const other = await getId(await fetchIdToken('carol'));
    assert.match(other, IDENTITY_ID_PATTERN);
    assert.notEqual(other, first);
  }));

  test('a token for another audience is refused', withServerLog(idpool, async (t) => {
    const error = await refusalOf(getId(await fetchIdToken('alice', OTHER_CLIENT_ID)));
    assert.equal(error.name, 'NotAuthorizedException', `${error.name}: ${error.message}`);
    t.diagnostic(`refusal: ${error.message}`);
  }));

  test('a token with an altered signature is refused', withServerLog(idpool, async (t) => {
    const [header, payload, signature] = (await fetchIdToken('alice')).split('.');
    const forged = [header, payload, alterOneCharacter(signature)].join('.');
    const error = await refusalOf(getId(forged));
    assert.equal(error.name, 'NotAuthorizedException', `${error.name}: ${error.message}`);
    t.diagnostic(`refusal: ${error.message}`);
  }));

  test('a token signed by a key the issuer does not publish is refused', withServerLog(idpool, async (t) => {
    // Same issuer URL, claims and kid, but a private key that was never in the issuer's JWKS.
    const rogue = new OAuth2Server();
    await rogue.issuer.keys.generate('RS256', { kid: publishedKid });
    rogue.issuer.url = issuerUrl;
    const forged = await rogue.issuer.buildToken({
      scopesOrTransform: (_header, payload) => Object.assign(payload, { sub: 'alice', aud: CLIENT_ID }),
    });
    const error = await refusalOf(getId(forged));
    assert.equal(error.name, 'NotAuthorizedException', `${error.name}: ${error.message}`);
    t.diagnostic(`refusal: ${error.message}`);
  }));
});
