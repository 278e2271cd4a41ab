// The kiosk client library (SPEC §4): what a voting booth runs, in a browser or in Node, with tweetnacl as its
// only cryptography and `fetch` as its only I/O. It makes and keeps the kiosk's own key pair, signs in by
// answering the server's challenge, and signs in again when its session ends or is refused as expired. The tests,
// the demo and the load tools all drive the server through it, as a real kiosk would.
import { kioskLoginMessage } from "../crypto/kiosk-login.js";
import {
  generateKioskKeyPair,
  type KioskKeyPair,
  prepareSignedBallot,
  type SignedBallot,
  signAsKiosk,
} from "../crypto/kiosk-nacl.js";

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Makes the kiosk's key pair on the kiosk; only the public key is ever shown to anyone (for enrolment). */
export function createKioskKeys(): KioskKeyPair & { publicKeyBase64: string } {
  const pair = generateKioskKeyPair();
  return { ...pair, publicKeyBase64: toBase64(pair.publicKey) };
}

export interface CastReceipt {
  election_id: string;
  seq: number;
  ballot_id: string;
  leaf_hash: string;
  tracking_code: string;
  checkpoint: { tree_size: number; root_hash: string; note: string };
}

export class KioskError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface KioskClientOptions {
  baseUrl: string;
  electionId: string;
  kioskId: string;
  secretKey: Uint8Array;
  fetch?: typeof fetch;
}

export class KioskClient {
  private session: string | null = null;
  private readonly fetcher: typeof fetch;

  constructor(private readonly options: KioskClientOptions) {
    this.fetcher = options.fetch ?? fetch;
  }

  private url(path: string): string {
    return `${this.options.baseUrl}/elections/${this.options.electionId}${path}`;
  }

  private async call<T>(method: string, path: string, body?: unknown, token?: string | null): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await this.fetcher(this.url(path), {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const parsed = text === "" ? null : (JSON.parse(text) as unknown);
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
      throw new KioskError(
        response.status,
        error?.code ?? "HTTP_ERROR",
        error?.message ?? response.statusText,
      );
    }
    return parsed as T;
  }

  /** Asks for a challenge, signs it with the kiosk's key, and keeps the session token it is given. */
  async signIn(): Promise<void> {
    const { kioskId, electionId, secretKey } = this.options;
    const challenge = await this.call<{ nonce: string }>("POST", `/kiosks/${kioskId}/challenge`);
    const nonce = fromBase64(challenge.nonce);
    const signature = signAsKiosk(kioskLoginMessage(electionId, kioskId, nonce), secretKey);
    const session = await this.call<{ session_token: string }>("POST", `/kiosks/${kioskId}/session`, {
      nonce: challenge.nonce,
      signature: toBase64(signature),
    });
    this.session = session.session_token;
  }

  /** A request as the signed-in kiosk; signs in first, and once more if the session has expired. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (this.session === null) await this.signIn();
    try {
      return await this.call<T>(method, path, body, this.session);
    } catch (error) {
      if (error instanceof KioskError && error.status === 401) {
        await this.signIn();
        return this.call<T>(method, path, body, this.session);
      }
      throw error;
    }
  }

  private tallyKey: Uint8Array | null = null;
  private tpsId: string | null = null;

  /** The kiosk's TPS and the election's tally key, fetched once. */
  private async enrolment(): Promise<{ tpsId: string; tallyKey: Uint8Array }> {
    if (this.tallyKey === null || this.tpsId === null) {
      const me = await this.request<{ tps_id: string; tally_public_key: string | null }>("GET", "/kiosk/me");
      if (me.tally_public_key === null)
        throw new KioskError(409, "TALLY_KEY_MISSING", "the election has no tally key yet");
      this.tallyKey = fromBase64(me.tally_public_key);
      this.tpsId = me.tps_id;
    }
    return { tpsId: this.tpsId, tallyKey: this.tallyKey };
  }

  /** Seals the voter's choice (0 = blank) to the tally key and signs it; nothing is sent yet. */
  async prepareBallot(candidateNumber: number): Promise<SignedBallot> {
    const { tpsId, tallyKey } = await this.enrolment();
    return prepareSignedBallot(
      { electionId: this.options.electionId, ballotId: crypto.randomUUID(), tpsId, candidateNumber },
      tallyKey,
      this.options.secretKey,
    );
  }

  /**
   * Sends a prepared ballot with the voter's token, retrying the very same signed ballot (same ballot_id) when
   * the network or the service fails, so that a lost response never costs a vote or casts one twice.
   */
  async submitBallot(ballot: SignedBallot, token: string, attempts = 5): Promise<CastReceipt> {
    const body = {
      ballot_id: ballot.ballotId,
      token,
      ephemeral_public_key: toBase64(ballot.ephemeralPublicKey),
      nonce: toBase64(ballot.nonce),
      ciphertext: toBase64(ballot.ciphertext),
      kiosk_signature: toBase64(ballot.kioskSignature),
    };
    let delay = 100;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request<CastReceipt>("POST", "/ballots", body);
      } catch (error) {
        const retryable = !(error instanceof KioskError) || error.status >= 500;
        if (!retryable || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
    }
  }

  /** Prepares and submits in one go. */
  async castBallot(candidateNumber: number, token: string): Promise<CastReceipt> {
    return this.submitBallot(await this.prepareBallot(candidateNumber), token);
  }

  /** The session token, for tests that need to replay or inspect it. */
  get sessionToken(): string | null {
    return this.session;
  }
}
