// The berita acara (SPEC §8): the printable minutes of the count — "Berita Acara Rekapitulasi Hasil Penghitungan
// Suara" — that the committee signs and posts. One self-contained HTML page (no scripts, no external resources,
// print styles) rendered from the stored, service-signed result: totals per candidate, blank and invalid votes,
// the per-TPS tables with the reconciliation, the winner with the rule that decided, the log's root and the
// result's signature (so that a printed copy can be checked against the bulletin board), the approvals, and
// signature lines. Every value is escaped; nothing personal is on it (names of candidates and of the committee
// members who approved are public by their office).
import type { Reconciliation } from "./tally.service.js";
import type { Decision } from "./winner.js";

export interface BeritaAcaraInput {
  election: {
    id: string;
    name: string;
    village_name: string;
    region_code: string;
    voting_day: string;
    time_zone: string;
    opens_at_local: string;
    closes_at_local: string;
    status: string;
  };
  candidates: Array<{ ballot_number: number; name: string }>;
  tps: Array<{ id: string; code: string; name: string; area: string | null }>;
  counts: {
    perCandidate: Record<string, number>;
    blank: number;
    invalid: number;
    ballots: number;
    perTps: Record<
      string,
      { perCandidate: Record<string, number>; blank: number; invalid: number; ballots: number }
    >;
  };
  reconciliation: Reconciliation;
  decision: Decision;
  verification: { ok: boolean; tree_size: number; root_hash: string; checkpoints_checked?: number };
  serviceSignature: string;
  talliedAt: Date;
  origin: string;
  quorum: number;
  approvals: Array<{ display_name: string; approved_at: Date; signed: boolean }>;
  committee: Array<{ display_name: string }>;
  witnesses: Array<{ display_name: string }>;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

const n = (value: number | undefined) => (value ?? 0).toLocaleString("id-ID");

const RULE_TEXT: Record<Decision["rule"], string> = {
  most_votes: "suara sah terbanyak",
  wider_area: "wilayah perolehan suara sah yang lebih luas (Permendagri 65/2017)",
  largest_tps: "unggul di TPS dengan pemilih terdaftar terbanyak",
  second_round: "perolehan suara sama: pemilihan ulang (putaran kedua) di antara calon yang sama kuat",
  drawing_lots: "perolehan suara sama: diundi oleh panitia di antara calon yang sama kuat",
  no_valid_votes: "tidak ada suara sah",
};

function candidateName(input: BeritaAcaraInput, number: number): string {
  const c = input.candidates.find((x) => x.ballot_number === number);
  return c ? `${number}. ${c.name}` : String(number);
}

function perTpsTable(input: BeritaAcaraInput): string {
  const numbers = input.candidates.map((c) => c.ballot_number);
  const reconciled = new Map(input.reconciliation.per_tps.map((r) => [r.tps_id, r]));
  const rows = input.tps.map((t) => {
    const c = input.counts.perTps[t.id];
    const r = reconciled.get(t.id);
    const cells = [
      `<th scope="row">${escapeHtml(t.code)}</th>`,
      `<td class="l">${escapeHtml(t.name)}${t.area ? ` <span class="muted">(${escapeHtml(t.area)})</span>` : ""}</td>`,
      `<td>${n(r?.registered)}</td>`,
      `<td>${n(r?.dpk)}</td>`,
      `<td>${n(r?.checked_in)}</td>`,
      ...numbers.map((k) => `<td>${n(c?.perCandidate[String(k)])}</td>`),
      `<td>${n(c?.blank)}</td>`,
      `<td>${n(c?.invalid)}</td>`,
      `<td>${n(c?.ballots)}</td>`,
      `<td>${n(r?.tokens_issued)} / ${n(r?.tokens_redeemed)} / ${n(r?.tokens_voided)} / ${n(r?.tokens_expired)}</td>`,
    ];
    return `<tr>${cells.join("")}</tr>`;
  });
  const head = [
    "TPS",
    "Nama",
    "DPT",
    "DPK",
    "Hadir",
    ...numbers.map((k) => `No. ${k}`),
    "Kosong",
    "Tidak sah",
    "Surat suara",
    "Token: terbit / dipakai / batal / kedaluwarsa",
  ];
  return `<table class="tps">
<thead><tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join("")}</tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>`;
}

export function renderBeritaAcara(input: BeritaAcaraInput): string {
  const { election, counts, decision } = input;
  const valid = Object.values(counts.perCandidate).reduce((a, b) => a + b, 0);
  const totals = input.candidates
    .map(
      (c) =>
        `<tr><th scope="row" class="l">${escapeHtml(candidateName(input, c.ballot_number))}</th><td>${n(counts.perCandidate[String(c.ballot_number)])}</td></tr>`,
    )
    .join("\n");
  const tied = decision.tied.length > 0 ? decision.tied.map((c) => candidateName(input, c)).join(", ") : null;
  const winner =
    decision.winner === null
      ? "<strong>Belum ada calon terpilih.</strong>"
      : `Calon terpilih: <strong>${escapeHtml(candidateName(input, decision.winner))}</strong>`;
  const discrepancies =
    input.reconciliation.discrepancies.length === 0
      ? "<p>Rekonsiliasi: tidak ada selisih.</p>"
      : `<p class="warn">Rekonsiliasi: ditemukan selisih —</p><ul>${input.reconciliation.discrepancies
          .map((d) => `<li>${escapeHtml(d)}</li>`)
          .join("")}</ul>`;
  const approvals =
    input.approvals.length === 0
      ? "<p>Belum ada persetujuan panitia.</p>"
      : `<ul>${input.approvals
          .map(
            (a) =>
              `<li>${escapeHtml(a.display_name)} — ${escapeHtml(a.approved_at.toISOString())}${a.signed ? " (bertanda tangan Ed25519)" : ""}</li>`,
          )
          .join("")}</ul>`;
  const signatureLines = (people: Array<{ display_name: string }>, title: string) =>
    people
      .map(
        (p) =>
          `<div class="sign"><div class="line"></div><div>${escapeHtml(p.display_name)}</div><div class="muted">${escapeHtml(title)}</div></div>`,
      )
      .join("");
  const status =
    election.status === "certified"
      ? "DITETAPKAN (certified)"
      : `${escapeHtml(election.status)} — belum ditetapkan; menunggu persetujuan panitia`;

  return `<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<title>Berita Acara — ${escapeHtml(election.name)}</title>
<style>
  body { font-family: "Times New Roman", serif; margin: 2cm; color: #000; }
  h1 { font-size: 1.3em; text-align: center; margin-bottom: 0.2em; }
  h2 { font-size: 1.1em; margin-top: 1.4em; }
  .center { text-align: center; }
  table { border-collapse: collapse; margin: 0.5em 0; }
  th, td { border: 1px solid #000; padding: 0.2em 0.5em; text-align: right; }
  .l { text-align: left; }
  table.tps { font-size: 0.85em; width: 100%; }
  .muted { color: #444; font-size: 0.9em; }
  .warn { font-weight: bold; }
  code { font-size: 0.8em; word-break: break-all; }
  .signs { display: flex; flex-wrap: wrap; gap: 1.5em; margin-top: 1em; }
  .sign { width: 14em; text-align: center; }
  .sign .line { border-bottom: 1px solid #000; height: 4em; margin-bottom: 0.3em; }
  @media print { body { margin: 1cm; } h2 { break-after: avoid; } table { break-inside: auto; } }
</style>
</head>
<body>
<h1>BERITA ACARA REKAPITULASI HASIL PENGHITUNGAN SUARA<br>PEMILIHAN KEPALA DESA</h1>
<p class="center">${escapeHtml(election.name)}<br>Desa ${escapeHtml(election.village_name)} (kode wilayah ${escapeHtml(election.region_code)})</p>
<p>Pada hari pemungutan suara ${escapeHtml(election.voting_day)}, pukul ${escapeHtml(election.opens_at_local)}–${escapeHtml(election.closes_at_local)} ${escapeHtml(election.time_zone)}, pemungutan suara dilaksanakan secara elektronik. Penghitungan suara dilakukan pada ${escapeHtml(input.talliedAt.toISOString())} dengan membuka seluruh surat suara tersegel dalam log suara setelah kunci penghitungan dipulihkan oleh pemegang bagian kunci. Status hasil: <strong>${status}</strong>.</p>

<h2>I. Perolehan suara</h2>
<table>
<tbody>
${totals}
<tr><th scope="row" class="l">Jumlah suara sah</th><td>${n(valid)}</td></tr>
<tr><th scope="row" class="l">Suara kosong (blank)</th><td>${n(counts.blank)}</td></tr>
<tr><th scope="row" class="l">Suara tidak sah</th><td>${n(counts.invalid)}</td></tr>
<tr><th scope="row" class="l">Jumlah surat suara dalam log</th><td>${n(counts.ballots)}</td></tr>
</tbody>
</table>

<h2>II. Rincian per TPS</h2>
${perTpsTable(input)}
${discrepancies}

<h2>III. Penetapan calon terpilih</h2>
<p>${winner}</p>
<p>Dasar penetapan: ${escapeHtml(RULE_TEXT[decision.rule])}.${tied ? ` Calon dengan suara sah sama: ${escapeHtml(tied)}.` : ""}</p>
<p class="muted">Aturan pemilihan ini: satuan wilayah ${decision.rules.area_unit === "tps" ? "TPS" : "dusun/wilayah"}; urutan penentu berikutnya: ${escapeHtml(decision.rules.fallbacks.join(", "))}.</p>

<h2>IV. Verifikasi</h2>
<p>Log suara: ${n(input.verification.tree_size)} entri, ${input.verification.ok ? "seluruhnya terverifikasi tanpa kesalahan" : "<strong>verifikasi menemukan kesalahan</strong>"}. Akar Merkle: <code>${escapeHtml(input.verification.root_hash)}</code> (log <code>${escapeHtml(input.origin)}</code>).</p>
<p>Tanda tangan layanan atas dokumen hasil (Ed25519, base64): <code>${escapeHtml(input.serviceSignature)}</code></p>
<p class="muted">Setiap saksi dapat memeriksa ulang hasil ini secara mandiri dengan mengunduh catatan pemilihan (election record) dan menjalankan pemeriksa luring (offline verifier).</p>

<h2>V. Persetujuan panitia (${n(input.approvals.length)} dari ${n(input.quorum)} yang diperlukan)</h2>
${approvals}

<h2>VI. Tanda tangan</h2>
<div class="signs">${signatureLines(input.committee, "Panitia")}${signatureLines(input.witnesses, "Saksi")}</div>
<p class="muted">Pemilihan ${escapeHtml(election.id)}</p>
</body>
</html>
`;
}
