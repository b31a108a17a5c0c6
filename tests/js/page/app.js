// Browser side of the Amplify test: a guest session from the identity pool named in the query
// string (?identityPoolId=...&endpoint=...), published as window.idpoolResult and in #result.

import { Amplify } from 'aws-amplify';
import { fetchAuthSession } from 'aws-amplify/auth';

function publish(result) {
  window.idpoolResult = result;
  document.getElementById('status').textContent = result.error ? 'error' : 'done';
  document.getElementById('result').textContent = JSON.stringify(result, null, 2);
}

async function main() {
  const params = new URLSearchParams(window.location.search);
  const identityPoolId = params.get('identityPoolId');
  const endpoint = params.get('endpoint');
  if (!identityPoolId || !endpoint) throw new Error('identityPoolId and endpoint are required in the query string');

  Amplify.configure({
    Auth: {
      Cognito: { identityPoolId, allowGuestAccess: true, identityPoolEndpoint: endpoint },
    },
  });
  const session = await fetchAuthSession();
  if (!session.credentials) throw new Error('fetchAuthSession returned no credentials');
  publish({
    identityId: session.identityId,
    accessKeyId: session.credentials.accessKeyId,
    hasSecretAccessKey: Boolean(session.credentials.secretAccessKey),
    hasSessionToken: Boolean(session.credentials.sessionToken),
    expiration: session.credentials.expiration ? new Date(session.credentials.expiration).toISOString() : null,
  });
}

main().catch((error) => {
  publish({ error: `${error?.name ?? 'Error'}: ${error?.message ?? String(error)}` });
});
