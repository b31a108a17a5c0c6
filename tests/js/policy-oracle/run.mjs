// Test oracle for crates/idpool-core/tests/policy_oracle.rs: decides each generated case with
// @cloud-copilot/iam-simulate (AGPL-3.0, a test-only dependency, never shipped) and prints the
// decisions as JSON. Usage: node run.mjs <cases.json>  (security-and-performance.md §4)
//
// Input: {"principal", "account", "cases": [{"policies": [text], "session": text|null,
//          "action", "resource", "context": {key: string | [string]}}]}
// Output (stdout): [{"decision": "Allowed"|"ExplicitlyDenied"|"ImplicitlyDenied",
//          "ignored": [key]} | {"error": message}], one entry per case, in order.
import { readFileSync } from 'node:fs'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const file = process.argv[2]
if (!file) {
  console.error('usage: node run.mjs <cases.json>')
  process.exit(2)
}
const input = JSON.parse(readFileSync(file, 'utf8'))

const out = []
for (const c of input.cases) {
  const simulation = {
    request: {
      principal: input.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: input.account },
      contextVariables: c.context
    },
    identityPolicies: c.policies.map((text, i) => ({ name: `policy${i}`, policy: JSON.parse(text) })),
    serviceControlPolicies: [],
    resourceControlPolicies: []
  }
  if (c.session != null) simulation.sessionPolicy = JSON.parse(c.session)
  try {
    const r = await runSimulation(simulation, { simulationMode: 'Strict' })
    if (r.resultType === 'error') {
      out.push({ error: JSON.stringify(r.errors) })
    } else if (r.resultType === 'single') {
      out.push({ decision: r.overallResult, ignored: r.result.ignoredContextKeys ?? [] })
    } else {
      out.push({ error: `unexpected result type ${r.resultType}` })
    }
  } catch (e) {
    out.push({ error: `threw: ${e?.stack ?? e}` })
  }
}
process.stdout.write(JSON.stringify(out))
