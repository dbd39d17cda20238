// sigstore-js (@sigstore/verify), a verifier the workbench did not write, asked about one
// DSSE envelope: wrapped as a Sigstore bundle v0.3 naming a public-key hint, verified with
// the PEM public key given, offline (no transparency log, no timestamp authority: the
// project's key is trusted by itself, as skopeo's sigstoreSigned policy trusts it).
// Usage: node verify-dsse.js ENVELOPE.json KEY.pub; prints "verified" or "refused: why".
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const [envelopePath, pemPath] = process.argv.slice(2);
const envelope = JSON.parse(fs.readFileSync(envelopePath, 'utf8'));
const publicKey = crypto.createPublicKey(fs.readFileSync(pemPath, 'utf8'));
try {
  const bundle = bundleFromJSON({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      publicKey: { hint: 'project' },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: {
      payload: envelope.payload,
      payloadType: envelope.payloadType,
      signatures: envelope.signatures.map((s) => ({ sig: s.sig, keyid: s.keyid || '' })),
    },
  });
  const root = { tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] };
  const trust = toTrustMaterial(root, (hint) => {
    if (hint !== 'project') throw new Error(`no key for the hint ${hint}`);
    return { publicKey, validFor: () => true };
  });
  const offline = { tlogThreshold: 0, ctlogThreshold: 0, tsaThreshold: 0, timestampThreshold: 0 };
  new Verifier(trust, offline).verify(toSignedEntity(bundle));
  console.log('verified');
} catch (error) {
  console.log(`refused: ${error.message}`);
  process.exit(1);
}
