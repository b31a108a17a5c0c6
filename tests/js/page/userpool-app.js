// Browser side of the user-pool test: Amplify v6 signs in against a user pool emulator and gets
// identity-pool credentials; the Node test drives each step through window.idpoolUserPool.

import { Amplify } from 'aws-amplify';
import { fetchAuthSession, signIn, signOut } from 'aws-amplify/auth';

// Errors cross into Node as plain data, so the test can show what Amplify said.
async function step(body) {
  try {
    return await body();
  } catch (error) {
    return { error: `${error?.name ?? 'Error'}: ${error?.message ?? String(error)}` };
  }
}

window.idpoolUserPool = {
  configure: (settings) => step(async () => {
    Amplify.configure({
      Auth: {
        Cognito: {
          userPoolId: settings.userPoolId,
          userPoolClientId: settings.userPoolClientId,
          userPoolEndpoint: settings.userPoolEndpoint,
          identityPoolId: settings.identityPoolId,
          identityPoolEndpoint: settings.identityPoolEndpoint,
          allowGuestAccess: false,
        },
      },
    });
    return { configured: true };
  }),

  // The emulator has no SRP, so the password goes to InitiateAuth (USER_PASSWORD_AUTH).
  signIn: (username, password) => step(async () => {
    const out = await signIn({ username, password, options: { authFlowType: 'USER_PASSWORD_AUTH' } });
    return { isSignedIn: out.isSignedIn, nextStep: out.nextStep?.signInStep };
  }),

  session: () => step(async () => {
    const session = await fetchAuthSession();
    return {
      identityId: session.identityId ?? null,
      hasIdToken: Boolean(session.tokens?.idToken),
      idTokenIssuer: session.tokens?.idToken?.payload?.iss ?? null,
      accessKeyId: session.credentials?.accessKeyId ?? null,
      hasSecretAccessKey: Boolean(session.credentials?.secretAccessKey),
      hasSessionToken: Boolean(session.credentials?.sessionToken),
    };
  }),

  signOut: () => step(async () => {
    await signOut();
    return { signedOut: true };
  }),
};

document.getElementById('status').textContent = 'ready';
