// The kiosk client library (SPEC §4): what a voting booth runs, in a browser or in Node, with tweetnacl as its
// only cryptography and `fetch` as its only I/O. It makes and keeps the kiosk's own key pair, signs in by
// answering the server's challenge, and signs in again when its session ends or is refused as expired. The tests,
// the demo and the load tools all drive the server through it, as a real kiosk would.
import { kioskLoginMessage } from "../crypto/kiosk-login.js";
import { generateKioskKeyPair, type KioskKeyPair, signAsKiosk } from "../crypto/kiosk-nacl.js";

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

  /** The session token, for tests that need to replay or inspect it. */
  get sessionToken(): string | null {
    return this.session;
  }
}
