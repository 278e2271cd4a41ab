// A deterministic synthetic DPT (daftar pemilih tetap, the final voter roll) for tests, the demo and benchmarks.
// It owns the whole picture of a Banyuasin-style village roll: TPS sizes, households under one NKK, names,
// birth dates, NIKs that follow the Dukcapil structure (SPEC §3), and the spreadsheet damage the importer must
// recognise — each kind of bad or warning row substituted at a requested share, and labelled so tests know
// what to expect. Rows stream: a 1,000,000-row file never exists in memory.
import { createWriteStream } from "node:fs";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ROLL_COLUMNS } from "../../src/modules/roll/roll-row.js";

/** The header the generator writes: exactly the importer's roll columns (src/modules/roll/roll-row.ts). */
export const DPT_COLUMNS = ROLL_COLUMNS;
export type DptColumn = (typeof DPT_COLUMNS)[number];

/** Row kinds the importer must reject, each with one defect. */
export const BAD_ROW_KINDS = [
  "nik_scientific",
  "nik_short",
  "nik_long",
  "nik_zero_serial",
  "nik_letters",
  "date_feb31",
  "date_garbage",
  "underage_unmarried",
  "duplicate_nik",
  "unknown_tps",
  "bad_sex",
  "bad_marital",
  "missing_name",
] as const;

/** Row kinds the importer must accept with a warning: the NIK disagrees with the other columns (SPEC §3). */
export const WARNING_ROW_KINDS = [
  "nik_region_mismatch",
  "nik_birthdate_mismatch",
  "nik_sex_mismatch",
] as const;

export type RejectedRowKind = (typeof BAD_ROW_KINDS)[number];
export type WarningRowKind = (typeof WARNING_ROW_KINDS)[number];
export type BadRowKind = RejectedRowKind | WarningRowKind;
export type RowKind = "valid" | "married_minor" | BadRowKind;

/** What an importer should do with a row of this kind. */
export function expectedOutcome(kind: RowKind): "accepted" | "warning" | "rejected" {
  if ((BAD_ROW_KINDS as readonly string[]).includes(kind)) return "rejected";
  if ((WARNING_ROW_KINDS as readonly string[]).includes(kind)) return "warning";
  return "accepted";
}

export interface DptOptions {
  rows: number;
  seed: number;
  /** YYYY-MM-DD; ages and eligibility are reckoned on this day. */
  votingDay: string;
  /** Voters per TPS, inclusive bounds; default [200, 600]. */
  tpsSize?: [min: number, max: number];
  /** Kemendagri district code, NIK digits 1–6; default "160705" (Sumatera Selatan, Banyuasin, district 05). */
  villageCode?: string;
  /**
   * Share of rows of each kind. A duplicate_nik share counts both rows of each pair (the earlier one and its
   * repeat), since the importer rejects both.
   */
  bad?: Partial<Record<BadRowKind, number>>;
  /** Share of married 16-year-olds (status S), who are eligible; default 0.002. */
  marriedMinorShare?: number;
  /** Put separators, quotes or line breaks inside alamat/keterangan of some rows; `true` means 0.5% of rows. */
  quotedMultiline?: boolean | number;
}

export interface DptRow {
  nik: string;
  nkk: string;
  nama: string;
  tempat_lahir: string;
  tanggal_lahir: string;
  jenis_kelamin: string;
  status_kawin: string;
  alamat: string;
  dusun: string;
  rt: string;
  rw: string;
  tps: string;
  disabilitas: string;
  keterangan: string;
  /** What this row is, for tests; not written to the CSV. */
  kind: RowKind;
}

export interface TpsPlanEntry {
  code: string;
  voters: number;
}

// ---------------------------------------------------------------------------------------------------------
// Seeded randomness. Each concern draws from its own stream, so asking for bad rows or quoted fields does
// not reshuffle the households: the same seed gives the same families, names, birth dates and addresses
// whatever damage is laid over them (NIK serials and the odd replaced identity aside).

const STREAM = { tps: 1, village: 2, people: 3, kinds: 4, defects: 5, csv: 6 } as const;

/** murmur3's finaliser: spreads every input bit over the output. */
function mix32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function streamSeed(seed: number, stream: number): number {
  const low = seed >>> 0;
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  return mix32(mix32(low ^ mix32(high + 0x9e3779b9)) ^ Math.imul(stream, 0x9e3779b9));
}

/** mulberry32: tiny, fast and plenty for synthetic data (not for anything secret). */
class Rng {
  #state: number;

  constructor(seed: number, stream: number) {
    this.#state = streamSeed(seed, stream);
  }

  float(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.float() * items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }

  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, weight] of choices) total += weight;
    let point = this.float() * total;
    for (const [value, weight] of choices) {
      point -= weight;
      if (point < 0) return value;
    }
    const last = choices[choices.length - 1];
    if (last === undefined) throw new Error("weighted pick from an empty list");
    return last[0];
  }
}

// ---------------------------------------------------------------------------------------------------------
// Calendar days as integers (days since 1970-01-01, UTC), so arithmetic never meets a time zone.

interface Day {
  year: number;
  month: number;
  day: number;
}

// Howard Hinnant's days_from_civil / civil_from_days: plain arithmetic, no Date object per row.
function dayNumber(date: Day): number {
  const year = date.month <= 2 ? date.year - 1 : date.year;
  const era = Math.floor(year / 400);
  const yearOfEra = year - era * 400;
  const dayOfYear = Math.floor((153 * (date.month + (date.month > 2 ? -3 : 9)) + 2) / 5) + date.day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function fromDayNumber(days: number): Day {
  const shifted = days + 719_468;
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day: dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1 };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function parseIsoDay(text: string): Day | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const date = { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
  if (date.month < 1 || date.month > 12 || date.day < 1 || date.day > daysInMonth(date.year, date.month)) {
    return undefined;
  }
  return date;
}

/** The same calendar day `years` later (or earlier); 29 February becomes 28 February in common years. */
function shiftYears(date: Day, years: number): Day {
  const year = date.year + years;
  return { year, month: date.month, day: Math.min(date.day, daysInMonth(year, date.month)) };
}

// Zero-padded numbers come from tables: padStart on every NIK was a visible share of the run time.
const PAD2 = Array.from({ length: 100 }, (_, value) => String(value).padStart(2, "0"));
const PAD4 = Array.from({ length: 10_000 }, (_, value) => String(value).padStart(4, "0"));
const pad2 = (value: number) => PAD2[value] ?? String(value).padStart(2, "0");
const pad3 = (value: number) => String(value).padStart(3, "0");
const pad4 = (value: number) => PAD4[value] ?? String(value).padStart(4, "0");

function isoDay(date: Day): string {
  return `${pad4(date.year)}-${pad2(date.month)}-${pad2(date.day)}`;
}

function isLeapDay(date: Day): boolean {
  return date.month === 2 && date.day === 29;
}

/** A birth date that makes someone exactly `age` on `votingDay`, uniform over that year of life. */
function birthDateForAge(age: number, votingDay: Day, rng: Rng): Day {
  const latest = dayNumber(shiftYears(votingDay, -age));
  const earliest = dayNumber(shiftYears(votingDay, -(age + 1))) + 1;
  for (;;) {
    const birth = fromDayNumber(rng.int(earliest, latest));
    // Whether a 29 February child turns 17 on 28 February or 1 March is a legal question; keep the
    // eligibility boundary free of it so every row's verdict is unambiguous.
    if (age >= 18 || !isLeapDay(birth)) return birth;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Names and places, Malay-Palembang first, with the Javanese of the transmigration villages mixed in.

// biome-ignore format: a word list reads better packed
const MALE_GIVEN = [
  "Muhammad", "Ahmad", "Abdul", "Rahmat", "Hasan", "Husin", "Ismail", "Yusuf", "Zainal", "Syamsul",
  "Darmawan", "Iskandar", "Rusdi", "Herman", "Sulaiman", "Amir", "Basri", "Jamaludin", "Nurdin", "Taufik",
  "Hendra", "Junaidi", "Mukhlis", "Arifin", "Samsudin", "Bahrun", "Hamdan", "Romli", "Saipul", "Edi",
  "Anwar", "Firdaus", "Rizki", "Fajar", "Dedi", "Agus", "Budi", "Joko", "Slamet", "Sugeng",
  "Wahyu", "Andi", "Rudi", "Sofyan", "Jumadi", "Mahmud", "Ridwan", "Zulkifli", "Azhari", "Darwis",
  "Usman", "Umar", "Ali", "Ilham", "Irwan", "Yudi", "Bambang", "Syahrial", "Rosidi", "Marzuki",
  "Mursalin", "Hanafi", "Ma'ruf", "Sukri", "Cholil", "Kholid", "Supriyadi", "Paryono",
] as const;

// biome-ignore format: a word list reads better packed
const FEMALE_GIVEN = [
  "Siti", "Nur", "Dewi", "Sri", "Aisyah", "Fatimah", "Khadijah", "Maryam", "Rohani", "Rosmala",
  "Zubaidah", "Halimah", "Aminah", "Juliana", "Yanti", "Ratna", "Rina", "Wati", "Suryani", "Herlina",
  "Nurhayati", "Rukiah", "Salmah", "Asmah", "Zainab", "Hasanah", "Rahmawati", "Lestari", "Ayu", "Putri",
  "Indah", "Nurul", "Maya", "Lina", "Eka", "Rini", "Yuliana", "Novi", "Desi", "Fitri",
  "Mega", "Lilis", "Ani", "Erna", "Sumiati", "Suparti", "Kartini", "Murni", "Rosidah", "Masitoh",
  "Ernawati", "Darmawati", "Umi", "Dian", "Anisa", "Safitri", "Kurnia", "Wulandari", "Mardiana", "Yusnani",
  "Roslina", "Hamidah", "Jamilah", "Sulastri", "Tukinem",
] as const;

// biome-ignore format: a word list reads better packed
const MALE_SECOND = [
  "Fauzi", "Hidayat", "Saputra", "Ramadhan", "Pratama", "Hakim", "Rahman", "Abdullah", "Syahputra",
  "Kurniawan", "Setiawan", "Susanto", "Wijaya", "Firmansyah", "Irawan", "Nugroho", "Maulana", "Akbar",
  "Aziz", "Amin", "Zulkarnain", "Effendi", "Gunawan", "Hidayatullah", "Syafei", "Rasyid", "Halim",
  "Hamzah", "Kadir", "Alamsyah", "Prasetyo",
] as const;

// biome-ignore format: a word list reads better packed
const FEMALE_SECOND = [
  "Sari", "Wati", "Hidayati", "Lestari", "Handayani", "Permata", "Anggraini", "Utami", "Wulandari",
  "Saputri", "Rahmawati", "Fitriani", "Yanti", "Aini", "Hasanah", "Marlina", "Susanti", "Novita",
  "Ramadhani", "Puspita", "Oktaviani", "Rosita", "Maharani", "Purnama", "Aulia", "Zahra", "Kartika",
  "Melati", "Fadillah", "Safitri",
] as const;

// Palembang's old nobility titles still appear on KTPs: Kemas, Kiagus, Masagus for men, Nyimas, Nyayu for women.
const MALE_TITLES = ["Kms.", "Kgs.", "Mgs."] as const;
const FEMALE_TITLES = ["Nyimas", "Nyayu"] as const;

// biome-ignore format: a word list reads better packed
const LOCAL_BIRTHPLACES = [
  "Banyuasin", "Palembang", "Pangkalan Balai", "Sungsang", "Betung", "Talang Kelapa", "Mariana", "Rambutan",
  "Tanjung Lago", "Muara Padang", "Makarti Jaya", "Air Saleh", "Rantau Bayur", "Pulau Rimau", "Tungkal Ilir",
  "Sembawa", "Suak Tapeh", "Muara Telang", "Air Kumbang", "Karang Agung",
] as const;
// biome-ignore format: a word list reads better packed
const SUMATRA_BIRTHPLACES = [
  "Prabumulih", "Kayu Agung", "Sekayu", "Lubuk Linggau", "Lahat", "Muara Enim", "Baturaja", "Indralaya",
  "Jambi", "Bengkulu", "Bandar Lampung", "Padang", "Pagar Alam", "Martapura",
] as const;
// biome-ignore format: a word list reads better packed
const JAVA_BIRTHPLACES = [
  "Jakarta", "Bandung", "Semarang", "Yogyakarta", "Surabaya", "Klaten", "Kebumen", "Purworejo", "Wonogiri",
  "Ponorogo", "Kediri", "Madiun", "Banyumas", "Cilacap", "Boyolali", "Sragen", "Blitar", "Ngawi",
] as const;

// One street carries an en dash, so byte counts and the importer's UTF-8 handling are exercised.
// biome-ignore format: a word list reads better packed
const STREETS = [
  "Jl. Lintas Timur", "Jl. Poros Desa", "Jl. Masjid Al-Ikhlas", "Jl. Sekolah", "Jl. Merdeka", "Jl. Pendidikan",
  "Jl. Pasar", "Jl. Kebun Karet", "Jl. Sawah", "Lorong Damai", "Lorong Sepakat", "Jl. Palembang–Betung",
  "Jalur 8", "Jl. Parit 5", "Gg. Mawar", "Jl. Tanggul", "Jl. Dermaga", "Lorong Kenanga",
] as const;

// biome-ignore format: a word list reads better packed
const NAMED_DUSUN = [
  "Sungai Dua", "Tanjung Laut", "Sidomulyo", "Karang Anyar", "Sumber Rejeki", "Suka Damai", "Teluk Tenggulang",
  "Sri Mulyo", "Parit Lapis", "Mekar Sari",
] as const;
const ROMAN = ["I", "II", "III", "IV", "V", "VI"] as const;

const DISABILITY_CODES = ["1", "2", "3", "4"] as const; // fisik, intelektual, mental, sensorik
const DISABILITY_WORDS = ["Tunanetra", "Tunarungu", "Tunadaksa", "Tunawicara", "Disabilitas fisik"] as const;
const NOTES = [
  "Pindah datang",
  "Perbaikan data",
  "Pemilih baru",
  "Pindah domisili dalam desa",
  "Lansia",
] as const;

// Other districts' codes for NIKs issued elsewhere; all real province codes (11–94).
// biome-ignore format: a word list reads better packed
const OTHER_DISTRICTS = [
  "167101", "167104", "160701", "160702", "160601", "160301", "320101", "330101", "337101", "350701",
  "180101", "150101",
] as const;

// ---------------------------------------------------------------------------------------------------------
// Options

interface Settings {
  rows: number;
  seed: number;
  votingDay: Day;
  tpsSize: [number, number];
  villageCode: string;
  quotedShare: number;
  /** Rows of each special kind to produce (for duplicate_nik: the number of repeats). */
  quotas: Map<Exclude<RowKind, "valid">, number>;
}

const DEFAULT_TPS_SIZE: [number, number] = [200, 600];
const DEFAULT_VILLAGE = "160705";
const DEFAULT_MARRIED_MINOR_SHARE = 0.002;
const DEFAULT_QUOTED_SHARE = 0.005;

function checkShare(name: string, share: number): void {
  if (!Number.isFinite(share) || share < 0 || share > 1)
    throw new RangeError(`${name} must be a share in [0, 1]`);
}

function resolveTpsSize(tpsSize: [number, number] | undefined): [number, number] {
  const [min, max] = tpsSize ?? DEFAULT_TPS_SIZE;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
    throw new RangeError(`tpsSize must be whole numbers 1 ≤ min ≤ max, not [${min}, ${max}]`);
  }
  return [min, max];
}

function resolveOptions(options: DptOptions): Settings {
  if (!Number.isInteger(options.rows) || options.rows < 0)
    throw new RangeError("rows must be a whole number ≥ 0");
  if (!Number.isSafeInteger(options.seed)) throw new RangeError("seed must be a safe integer");
  const votingDay = parseIsoDay(options.votingDay);
  if (votingDay === undefined)
    throw new RangeError(`votingDay must be YYYY-MM-DD, not "${options.votingDay}"`);
  const villageCode = options.villageCode ?? DEFAULT_VILLAGE;
  const province = Number(villageCode.slice(0, 2));
  if (!/^\d{6}$/.test(villageCode) || province < 11 || province > 94) {
    throw new RangeError(
      `villageCode must be six digits starting with a province code, not "${villageCode}"`,
    );
  }
  const quotedShare =
    options.quotedMultiline === true ? DEFAULT_QUOTED_SHARE : Number(options.quotedMultiline ?? 0) || 0;
  checkShare("quotedMultiline", quotedShare);
  return {
    rows: options.rows,
    seed: options.seed,
    votingDay,
    tpsSize: resolveTpsSize(options.tpsSize),
    villageCode,
    quotedShare,
    quotas: resolveQuotas(options),
  };
}

function resolveQuotas(options: DptOptions): Settings["quotas"] {
  const quotas: Settings["quotas"] = new Map();
  const marriedMinorShare = options.marriedMinorShare ?? DEFAULT_MARRIED_MINOR_SHARE;
  checkShare("marriedMinorShare", marriedMinorShare);
  quotas.set("married_minor", Math.round(marriedMinorShare * options.rows));
  let rowsTaken = quotas.get("married_minor") ?? 0;
  for (const kind of [...BAD_ROW_KINDS, ...WARNING_ROW_KINDS]) {
    const share = options.bad?.[kind] ?? 0;
    checkShare(`bad.${kind}`, share);
    // A duplicate pair is two rows; the quota counts the repeats, each of which also marks one earlier row.
    const count =
      kind === "duplicate_nik" ? Math.round((share * options.rows) / 2) : Math.round(share * options.rows);
    quotas.set(kind, count);
    rowsTaken += kind === "duplicate_nik" ? 2 * count : count;
  }
  if (rowsTaken > options.rows)
    throw new RangeError("the requested shares of special rows add up to more than 1");
  return quotas;
}

// ---------------------------------------------------------------------------------------------------------
// TPS plan

/** How many TPS the roll needs: about rows / mean size, but never so few or many that a bound breaks. */
function tpsCount(rows: number, [min, max]: [number, number], rng: Rng): number {
  const fewest = Math.ceil(rows / max);
  const most = Math.floor(rows / min);
  if (fewest > most) return Math.max(1, fewest); // no count fits both bounds; keep every TPS ≤ max
  const jitter = 0.9 + 0.2 * rng.float();
  const wanted = Math.round((rows / ((min + max) / 2)) * jitter);
  return Math.min(most, Math.max(fewest, wanted));
}

/** TPS "001", "002", … whose sizes are drawn in `tpsSize` and add up to exactly `rows`. */
export function planTps(options: Pick<DptOptions, "rows" | "seed" | "tpsSize">): TpsPlanEntry[] {
  if (options.rows <= 0) return [];
  const [min, max] = resolveTpsSize(options.tpsSize);
  const rng = new Rng(options.seed, STREAM.tps);
  const count = tpsCount(options.rows, [min, max], rng);
  if (count * min > options.rows) return evenSplit(options.rows, count);
  const span = max - min;
  let extra = options.rows - count * min;
  const plan: TpsPlanEntry[] = [];
  for (let index = 0; index < count; index++) {
    const after = count - index - 1;
    // Leave enough for the TPS after this one to stay ≤ max, and take no more than this one can hold.
    const share = rng.int(Math.max(0, extra - after * span), Math.min(span, extra));
    extra -= share;
    plan.push({ code: pad3(index + 1), voters: min + share });
  }
  return plan;
}

function evenSplit(rows: number, count: number): TpsPlanEntry[] {
  return Array.from({ length: count }, (_, index) => ({
    code: pad3(index + 1),
    voters: Math.floor(rows / count) + (index < rows % count ? 1 : 0),
  }));
}

// ---------------------------------------------------------------------------------------------------------
// Households: who lives under one KK, with roles that make the ages and marital statuses plausible.

type Sex = "L" | "P";
type Marital = "B" | "S" | "P";

interface Member {
  sex: Sex;
  age: number;
  marital: Marital;
  /** A child of the head, who may carry the father's name as a second name. */
  child: boolean;
}

/** Voters in the next household: 2–6, shrunk or grown so the TPS is never left with a single stray voter. */
function householdSize(leftInTps: number, rng: Rng): number {
  const drawn = rng.weighted<number>([
    [2, 30],
    [3, 25],
    [4, 22],
    [5, 15],
    [6, 8],
  ]);
  if (drawn >= leftInTps) return leftInTps;
  if (leftInTps - drawn === 1) return drawn < 6 ? drawn + 1 : drawn - 1;
  return drawn;
}

function childStatus(age: number, rng: Rng): Marital {
  if (age >= 30) return rng.chance(0.6) ? "S" : rng.chance(0.2) ? "P" : "B";
  if (age >= 22) return rng.chance(0.3) ? "S" : "B";
  return "B";
}

function planHousehold(size: number, rng: Rng): Member[] {
  if (size === 1) {
    const age = rng.int(20, 85);
    return [{ sex: rng.chance(0.6) ? "P" : "L", age, marital: age > 50 ? "P" : "B", child: false }];
  }
  const children = size - 2;
  const coupled = rng.chance(0.88);
  const headAge = children > 0 || !coupled ? rng.int(40, 80) : rng.int(20, 85);
  const members: Member[] = [];
  if (coupled) {
    members.push({ sex: "L", age: headAge, marital: "S", child: false });
    members.push({ sex: "P", age: Math.max(17, headAge - rng.int(0, 8)), marital: "S", child: false });
  } else {
    // A widowed or divorced head, more often a woman, living with grown children.
    members.push({ sex: rng.chance(0.65) ? "P" : "L", age: headAge, marital: "P", child: false });
  }
  const youngestParent = members.reduce((age, member) => Math.min(age, member.age), headAge);
  const oldestChild = Math.min(50, Math.max(17, youngestParent - 18));
  while (members.length < size) {
    if (headAge < 60 && rng.chance(0.08)) {
      // A widowed grandparent on the same KK.
      members.push({ sex: rng.chance(0.7) ? "P" : "L", age: rng.int(68, 90), marital: "P", child: false });
      continue;
    }
    const age = rng.int(17, oldestChild);
    members.push({ sex: rng.chance(0.5) ? "P" : "L", age, marital: childStatus(age, rng), child: true });
  }
  return members;
}

// ---------------------------------------------------------------------------------------------------------
// NIK and NKK numbers

/**
 * The last serial handed out per 12-digit prefix (region ‖ DDMMYY), so every number in the file is unique
 * while memory grows with the number of regions, not of rows: one 170 KB table per region, indexed by
 * day (1–71, women +40) × month × two-digit year. A Map keyed by prefix cost several times more per row.
 */
class SerialBook {
  readonly #lastByRegion = new Map<string, Uint16Array>();

  /** region ‖ DD ‖ MM ‖ YY ‖ the next free serial. */
  complete(region: string, nikDay: number, month: number, year: number, rng: Rng): string {
    let book = this.#lastByRegion.get(region);
    if (book === undefined) {
      book = new Uint16Array(71 * 12 * 100);
      this.#lastByRegion.set(region, book);
    }
    const yy = year % 100;
    const slot = ((nikDay - 1) * 12 + month - 1) * 100 + yy;
    const last = book[slot] ?? 0;
    let serial = last + rng.int(1, 3); // gaps, as in a real register where others moved away or died
    if (serial > 9999) serial = last + 1;
    if (serial > 9999) {
      throw new Error(`serials for ${region} ${pad2(nikDay)}${pad2(month)}${pad2(yy)} are exhausted`);
    }
    book[slot] = serial;
    return region + pad2(nikDay) + pad2(month) + pad2(yy) + pad4(serial);
  }
}

/** The NIK's day digits: the day of birth, plus 40 for women. */
function nikDay(birth: Day, sex: Sex): number {
  return birth.day + (sex === "P" ? 40 : 0);
}

/** A 16-digit number as Excel's General format shows it: six significant digits, e.g. 1.60705E+15. */
function excelScientific(digits: string): string {
  const [mantissa = "", exponent = ""] = Number(digits).toExponential(5).split("e"); // "1.60705", "+15"
  return `${mantissa.replace(/\.?0+$/, "")}E${exponent}`; // General drops trailing zeros: 1.6E+15
}

// OCR and typing slips: the letter that looks like the digit.
const LOOKALIKE: Record<string, string> = { "0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B" };

function withLetter(nik: string, rng: Rng): string {
  const position = rng.int(6, nik.length - 1);
  const digit = nik[position] ?? "0";
  return nik.slice(0, position) + (LOOKALIKE[digit] ?? "X") + nik.slice(position + 1);
}

// ---------------------------------------------------------------------------------------------------------
// The village: dusun, RW and RT follow the TPS in order, as polling stations follow neighbourhoods.

interface Household {
  nkk: string;
  alamat: string;
  dusun: string;
  rt: string;
  rw: string;
  tps: string;
  /** Given name of the husband, for children who carry it as a second name. */
  fatherName: string | undefined;
}

interface Neighbourhood {
  dusunIndex: number;
  rt: number;
  householdsLeftInRt: number;
  street: string;
  houseNumber: number;
}

const RT_PER_DUSUN = 20;

// ---------------------------------------------------------------------------------------------------------
// The generator

const PENDING_WINDOW = 64; // rows held back so a later repeat can still mark its original as duplicate_nik

/** Picks the kind of each row so that every quota is met exactly (selection sampling, Knuth's Algorithm S). */
class KindSchedule {
  readonly #left: Settings["quotas"];
  #rowsLeft: number;
  readonly #rng: Rng;

  constructor(settings: Settings) {
    this.#left = new Map(settings.quotas);
    this.#rowsLeft = settings.rows;
    this.#rng = new Rng(settings.seed, STREAM.kinds);
  }

  /** The kind for the next row; `settle` it if it was used. */
  draw(): RowKind {
    let point = this.#rng.float() * this.#rowsLeft;
    this.#rowsLeft--;
    for (const [kind, left] of this.#left) {
      point -= left;
      if (point < 0) return kind;
    }
    return "valid";
  }

  settle(kind: RowKind): void {
    if (kind === "valid") return;
    this.#left.set(kind, (this.#left.get(kind) ?? 0) - 1);
  }
}

interface Person {
  sex: Sex;
  marital: Marital;
  birth: Day;
}

class DptGenerator {
  readonly #settings: Settings;
  readonly #plan: TpsPlanEntry[];
  readonly #people: Rng;
  readonly #defects: Rng;
  readonly #kinds: KindSchedule;
  readonly #niks = new SerialBook();
  readonly #nkks = new SerialBook();
  readonly #zeroSerialPrefixes = new Set<string>();
  readonly #dusunNames: readonly string[];
  readonly #pending: DptRow[] = [];
  #neighbourhood: Neighbourhood | undefined;

  constructor(options: DptOptions) {
    this.#settings = resolveOptions(options);
    this.#plan = planTps(options);
    this.#people = new Rng(options.seed, STREAM.people);
    this.#defects = new Rng(options.seed, STREAM.defects);
    this.#kinds = new KindSchedule(this.#settings);
    this.#dusunNames = dusunNames(new Rng(options.seed, STREAM.village));
  }

  // One flat generator: each nested `yield*` costs a resume per row, which shows at a million rows.
  *rows(): Generator<DptRow> {
    const pending = this.#pending;
    for (const [tpsIndex, tps] of this.#plan.entries()) {
      let left = tps.voters;
      while (left > 0) {
        const size = householdSize(left, this.#people);
        this.#addHousehold(size, tpsIndex, tps.code);
        left -= size;
        // Release in batches, always keeping a full window back (shift() per row costs more than it looks).
        if (pending.length >= 2 * PENDING_WINDOW) yield* pending.splice(0, PENDING_WINDOW);
      }
    }
    yield* pending.splice(0);
  }

  #addHousehold(size: number, tpsIndex: number, tpsCode: string): void {
    const members = planHousehold(size, this.#people);
    const household = this.#newHousehold(tpsIndex, tpsCode, members);
    for (const member of members) this.#pending.push(this.#row(member, household));
  }

  #newHousehold(tpsIndex: number, tpsCode: string, members: Member[]): Household {
    const place = this.#nextAddress(tpsIndex);
    const husband = members[0]?.sex === "L" && members[0].marital === "S" ? this.#givenName("L") : undefined;
    // Spelled out: `{ ...place, more }` takes a slow path in V8 (about 4 µs a household here).
    return {
      nkk: this.#nkk(),
      alamat: place.alamat,
      dusun: place.dusun,
      rt: place.rt,
      rw: place.rw,
      tps: tpsCode,
      fatherName: husband,
    };
  }

  #nextAddress(tpsIndex: number): Omit<Household, "nkk" | "tps" | "fatherName"> {
    const rng = this.#people;
    const dusunCount = Math.min(this.#dusunNames.length, this.#plan.length);
    const dusunIndex = Math.floor((tpsIndex * dusunCount) / this.#plan.length);
    let here = this.#neighbourhood;
    if (here === undefined || here.dusunIndex !== dusunIndex || here.householdsLeftInRt === 0) {
      const rt = here !== undefined && here.dusunIndex === dusunIndex ? (here.rt % RT_PER_DUSUN) + 1 : 1;
      here = {
        dusunIndex,
        rt,
        householdsLeftInRt: rng.int(12, 30),
        street: rng.pick(STREETS),
        houseNumber: 0,
      };
      this.#neighbourhood = here;
    }
    here.householdsLeftInRt--;
    here.houseNumber += rng.int(1, 3);
    const rt = pad3(here.rt);
    const style = rng.int(1, 10);
    const alamat =
      style <= 5
        ? `${here.street} RT ${rt}`
        : style <= 8
          ? `${here.street} No. ${here.houseNumber}`
          : `${here.street} No. ${here.houseNumber} RT ${rt}`;
    return { alamat, dusun: this.#dusunNames[dusunIndex] ?? "Dusun I", rt, rw: pad3(dusunIndex + 1) };
  }

  #nkk(): string {
    // A KK number is the district code, the issue date DDMMYY and a serial.
    const votingDay = dayNumber(this.#settings.votingDay);
    const issued = fromDayNumber(votingDay - this.#people.int(30, 20 * 365));
    return this.#nkks.complete(
      this.#settings.villageCode,
      issued.day,
      issued.month,
      issued.year,
      this.#people,
    );
  }

  #givenName(sex: Sex): string {
    return this.#people.pick<string>(sex === "L" ? MALE_GIVEN : FEMALE_GIVEN);
  }

  #name(sex: Sex, fatherName: string | undefined, child: boolean): string {
    const rng = this.#people;
    const given = this.#givenName(sex);
    const title = rng.chance(0.03) ? `${rng.pick<string>(sex === "L" ? MALE_TITLES : FEMALE_TITLES)} ` : "";
    if (child && fatherName !== undefined && rng.chance(0.25)) return `${title}${given} ${fatherName}`;
    const seconds: readonly string[] = sex === "L" ? MALE_SECOND : FEMALE_SECOND;
    const shape = rng.weighted<number>([
      [1, 20],
      [2, 68],
      [3, 12],
    ]);
    if (shape === 1) return `${title}${given}`;
    if (shape === 2) return `${title}${given} ${rng.pick(seconds)}`;
    return `${title}${given} ${this.#givenName(sex)} ${rng.pick(seconds)}`;
  }

  #birthplace(): string {
    const rng = this.#people;
    const region = rng.weighted<readonly string[]>([
      [LOCAL_BIRTHPLACES, 60],
      [SUMATRA_BIRTHPLACES, 20],
      [JAVA_BIRTHPLACES, 20],
    ]);
    return rng.pick(region);
  }

  #disability(): string {
    const rng = this.#people;
    if (!rng.chance(0.025)) return "";
    return rng.chance(0.6) ? rng.pick(DISABILITY_CODES) : rng.pick(DISABILITY_WORDS);
  }

  #row(member: Member, household: Household): DptRow {
    let kind = this.#kinds.draw();
    const original = kind === "duplicate_nik" ? this.#duplicateCandidate(household.nkk) : undefined;
    if (kind === "duplicate_nik" && original === undefined) kind = "valid"; // nothing to repeat yet
    this.#kinds.settle(kind);
    const person = this.#person(member, kind);
    const row: DptRow = {
      nik: this.#nik(person, kind),
      nkk: household.nkk,
      nama: this.#name(person.sex, household.fatherName, member.child),
      tempat_lahir: this.#birthplace(),
      tanggal_lahir: isoDay(person.birth),
      jenis_kelamin: person.sex,
      status_kawin: person.marital,
      alamat: household.alamat,
      dusun: household.dusun,
      rt: household.rt,
      rw: household.rw,
      tps: household.tps,
      disabilitas: this.#disability(),
      keterangan: this.#people.chance(0.01) ? this.#people.pick(NOTES) : "",
      kind,
    };
    if (this.#settings.quotedShare > 0 && this.#defects.chance(this.#settings.quotedShare)) {
      this.#awkwardText(row);
    }
    if (original !== undefined) repeatIdentity(row, original);
    else this.#damage(row, person);
    return row;
  }

  /** Age and marital status, with the two age-16 kinds laid over the household role. */
  #person(member: Member, kind: RowKind): Person {
    const votingDay = this.#settings.votingDay;
    const usualBirth = birthDateForAge(member.age, votingDay, this.#people);
    if (kind !== "married_minor" && kind !== "underage_unmarried") {
      return { sex: member.sex, marital: member.marital, birth: usualBirth };
    }
    // Drawn from the defects stream, so the rest of the village stays as it would be without these rows.
    const birth = birthDateForAge(16, votingDay, this.#defects);
    if (kind === "underage_unmarried") return { sex: member.sex, marital: "B", birth };
    // Married young (dispensasi kawin), hence a voter at 16; most often a young wife.
    return { sex: this.#defects.chance(0.85) ? "P" : "L", marital: "S", birth };
  }

  /** A fresh unique NIK; the three warning kinds encode something other than the row's own facts. */
  #nik(person: Person, kind: RowKind): string {
    const rng = this.#defects;
    let region = this.#settings.villageCode;
    let birth = person.birth;
    let sex = person.sex;
    if (kind === "nik_region_mismatch") {
      region = rng.pick(OTHER_DISTRICTS.filter((code) => code !== this.#settings.villageCode));
    } else if (kind === "nik_birthdate_mismatch") {
      const shift = rng.int(1, 400) * (rng.chance(0.5) ? 1 : -1);
      birth = fromDayNumber(dayNumber(birth) + shift);
    } else if (kind === "nik_sex_mismatch") {
      sex = sex === "L" ? "P" : "L";
    }
    if (kind === "nik_zero_serial") return this.#zeroSerialNik(region, birth, sex);
    return this.#niks.complete(region, nikDay(birth, sex), birth.month, birth.year, rng);
  }

  /** Serial 0000 never exists; still keep each such NIK unique so it is rejected for one reason only. */
  #zeroSerialNik(region: string, birth: Day, sex: Sex): string {
    const prefix = region + pad2(nikDay(birth, sex)) + pad2(birth.month) + pad2(birth.year % 100);
    if (!this.#zeroSerialPrefixes.has(prefix)) {
      this.#zeroSerialPrefixes.add(prefix);
      return `${prefix}0000`;
    }
    // Taken: number a slip for a neighbouring birth date instead (the row is rejected anyway).
    return this.#zeroSerialNik(region, fromDayNumber(dayNumber(birth) + 1), sex);
  }

  /** A held-back valid row of another household whose NIK this row can repeat. */
  #duplicateCandidate(nkk: string): DptRow | undefined {
    const candidates = this.#pending.filter((row) => row.kind === "valid" && row.nkk !== nkk);
    if (candidates.length === 0) return undefined;
    return this.#defects.pick(candidates);
  }

  /** Separators, quotes and line breaks inside text, so the CSV must quote them. */
  #awkwardText(row: DptRow): void {
    const rng = this.#defects;
    const variant = rng.int(0, 4);
    if (variant === 0) row.alamat = `${row.alamat}, RW ${row.rw}`;
    else if (variant === 1) row.alamat = `${row.alamat}\nDusun ${row.dusun}`;
    else if (variant === 2) row.alamat = `${row.alamat}; dekat "Masjid Raya"`;
    else if (variant === 3) row.keterangan = `Pindah datang dari "${rng.pick(SUMATRA_BIRTHPLACES)}", SKPWNI`;
    else row.keterangan = `Perbaikan data,\r\nlapor ${this.#settings.votingDay.year - 1}`;
  }

  /** Lays the row's one defect over otherwise good cells. */
  #damage(row: DptRow, person: Person): void {
    const rng = this.#defects;
    switch (row.kind) {
      case "nik_scientific":
        row.nik = excelScientific(row.nik);
        break;
      case "nik_short": {
        const position = rng.int(0, 15);
        row.nik = row.nik.slice(0, position) + row.nik.slice(position + 1);
        break;
      }
      case "nik_long": {
        const position = rng.int(0, 16);
        row.nik = row.nik.slice(0, position) + String(rng.int(0, 9)) + row.nik.slice(position);
        break;
      }
      case "nik_letters":
        row.nik = withLetter(row.nik, rng);
        break;
      case "date_feb31":
        row.tanggal_lahir = `${pad4(person.birth.year)}-02-31`;
        break;
      case "date_garbage":
        row.tanggal_lahir = rng.pick([
          "",
          "-",
          "00-00-0000",
          "tidak diketahui",
          "19/19/19",
          "1985-13-45",
          "?",
        ]);
        break;
      case "unknown_tps":
        row.tps = pad3(this.#plan.length + rng.int(1, 40));
        break;
      case "bad_sex":
        row.jenis_kelamin = rng.pick(["X", "-", "0", "?", ""]);
        break;
      case "bad_marital":
        row.status_kawin = rng.pick(["Z", "X", "-", "0", ""]);
        break;
      case "missing_name":
        row.nama = rng.pick(["", "  "]);
        break;
      default:
        break; // no cell damage: valid, married_minor, underage_unmarried, the warning kinds, nik_zero_serial
    }
  }
}

/** The repeat of a person already on the roll, listed again in another household (pemilih ganda). */
function repeatIdentity(row: DptRow, original: DptRow): void {
  original.kind = "duplicate_nik";
  row.nik = original.nik;
  row.nama = original.nama;
  row.tempat_lahir = original.tempat_lahir;
  row.tanggal_lahir = original.tanggal_lahir;
  row.jenis_kelamin = original.jenis_kelamin;
  row.status_kawin = original.status_kawin;
}

function dusunNames(rng: Rng): readonly string[] {
  if (rng.chance(0.7)) return ROMAN.map((numeral) => `Dusun ${numeral}`);
  const names: string[] = [...NAMED_DUSUN];
  for (let index = names.length - 1; index > 0; index--) {
    const other = rng.int(0, index);
    [names[index], names[other]] = [names[other] ?? "", names[index] ?? ""];
  }
  return names.slice(0, ROMAN.length);
}

/** The roll, row by row, the same for the same options. Options are checked at the call, not the first row. */
export function generateDptRows(options: DptOptions): Generator<DptRow> {
  return new DptGenerator(options).rows();
}

// ---------------------------------------------------------------------------------------------------------
// CSV

export interface CsvFormat {
  separator?: "," | ";";
  lineEnding?: "\n" | "\r\n";
  bom?: boolean;
  /** iso YYYY-MM-DD, dmy-dash DD-MM-YYYY, dmy-slash DD/MM/YYYY, or mixed (rotating row by row). */
  dateFormat?: "iso" | "dmy-dash" | "dmy-slash" | "mixed";
  /** Share of NIK/NKK cells written as Excel text cells, with a leading apostrophe. */
  apostropheNik?: number;
  /** Seeds the apostrophe choice; writeDptFile passes the roll's seed. */
  seed?: number;
}

type DateStyle = "iso" | "dmy-dash" | "dmy-slash";
const MIXED_STYLES: readonly DateStyle[] = ["iso", "dmy-dash", "dmy-slash"];

/** Rewrites an ISO date for the file; anything that is not one (the garbage rows) is written as it is. */
function formatDate(value: string, style: DateStyle): string {
  if (style === "iso") return value;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return value;
  const joiner = style === "dmy-dash" ? "-" : "/";
  return `${match[3]}${joiner}${match[2]}${joiner}${match[1]}`;
}

function quoter(separator: string): (field: string) => string {
  const special = separator === "," ? /[",\r\n]/ : /[";\r\n]/;
  return (field) => (special.test(field) ? `"${field.replaceAll('"', '""')}"` : field);
}

/** The header line, then one line per row, each ending with the line ending (RFC 4180 quoting). */
export function* toCsvLines(rows: Iterable<DptRow>, format: CsvFormat = {}): Generator<string> {
  const separator = format.separator ?? ",";
  const lineEnding = format.lineEnding ?? "\n";
  const dateFormat = format.dateFormat ?? "iso";
  const apostropheShare = format.apostropheNik ?? 0;
  checkShare("apostropheNik", apostropheShare);
  const rng = new Rng(format.seed ?? 0, STREAM.csv);
  const quote = quoter(separator);
  const asText = (value: string) =>
    apostropheShare > 0 && /^\d+$/.test(value) && rng.chance(apostropheShare) ? `'${value}` : value;

  yield `${format.bom ? "\uFEFF" : ""}${DPT_COLUMNS.join(separator)}${lineEnding}`;
  let index = 0;
  for (const row of rows) {
    const style = dateFormat === "mixed" ? (MIXED_STYLES[index % MIXED_STYLES.length] ?? "iso") : dateFormat;
    let line = "";
    for (const column of DPT_COLUMNS) {
      let cell = row[column];
      if (column === "nik" || column === "nkk") cell = asText(cell);
      else if (column === "tanggal_lahir") cell = formatDate(cell, style);
      line += column === "nik" ? quote(cell) : separator + quote(cell);
    }
    yield line + lineEnding;
    index++;
  }
}

const CHUNK_CHARS = 64 * 1024;

/** Joins lines into ~64 KiB strings: one write per chunk instead of one per row. */
function* inChunks(lines: Iterable<string>, onLine: () => void): Generator<string> {
  let chunk = "";
  for (const line of lines) {
    onLine();
    chunk += line;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk !== "") yield chunk;
}

export interface DptFileSummary {
  rows: number;
  tps: TpsPlanEntry[];
  bytes: number;
}

/**
 * Streams the roll as CSV into `destination`, waiting for it to drain (pipeline's backpressure). `end: false`
 * leaves the destination open, as process.stdout must be.
 */
export async function writeDpt(
  destination: Writable,
  options: DptOptions,
  format: CsvFormat = {},
  { end = true }: { end?: boolean } = {},
): Promise<DptFileSummary> {
  const rows = generateDptRows(options); // throws here, before anything is written, on bad options
  let lines = 0;
  let bytes = 0;
  const chunks = function* () {
    for (const chunk of inChunks(toCsvLines(rows, { seed: options.seed, ...format }), () => lines++)) {
      bytes += Buffer.byteLength(chunk, "utf8");
      yield chunk;
    }
  };
  await pipeline(Readable.from(chunks()), destination, { end });
  return { rows: Math.max(0, lines - 1), tps: planTps(options), bytes };
}

/** Writes the roll to a CSV file at `path`, memory bounded whatever the row count. */
export async function writeDptFile(
  path: string,
  options: DptOptions,
  format: CsvFormat = {},
): Promise<DptFileSummary> {
  resolveOptions(options); // before the file is created
  return writeDpt(createWriteStream(path), options, format);
}
