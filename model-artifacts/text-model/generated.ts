/**
 * Text the project writes itself to fill gaps the thirteen sources leave (docs: text-toxicity model
 * card, "Generated text"): direct threats (the sources hold about 580 threats, most of them sexist
 * threats from EDOS), violent idioms that are not threats ("this commute is killing me"), and
 * statements about identity groups in three forms: the stereotype asserted (hate), the same
 * stereotype denied or rejected (counter-speech, negation: not hate) and a neutral mention.
 *
 * Every row records its template and the verb or group filled in; the split is drawn by that pair,
 * so validation and test hold template and group (or verb) combinations that training never saw. Group and stereotype pairs used by the project's hand-written
 * evaluation texts and by issue 12's examples are left out, so those stay out of training.
 */
/** Five labels in TEXT_LABELS order (data.ts re-uses this type; it imports this module, not the reverse). */
export type Labels5 = [number, number, number, number, number];

export interface GeneratedRow {
  text: string;
  template: string;
  y: Labels5;
  mask: Labels5;
  /** Loss weight: violent idioms are few beside the threats, so each counts more. @default 1 */
  weight?: number;
}

/** Weight of a violent idiom (about 130 of them against about 850 threats). */
export const IDIOM_WEIGHT = 4;

const ALL_KNOWN: Labels5 = [1, 1, 1, 1, 1];
/** Threat aimed at the reader: violence and harassment, not hate or sexual harassment; profanity unknown. */
const THREAT_YOU = { y: [0, 1, 0, 1, 0] as Labels5, mask: [1, 1, 0, 1, 1] as Labels5 };
/** Call for violence against a group or a third party: violence, not sexual; hate and harassment depend on who. */
const THREAT_THEM = { y: [0, 0, 0, 1, 0] as Labels5, mask: [0, 0, 0, 1, 1] as Labels5 };
const HATE = { y: [1, 0, 0, 0, 0] as Labels5, mask: [1, 0, 0, 0, 0] as Labels5 };
const HARMLESS = { y: [0, 0, 0, 0, 0] as Labels5, mask: ALL_KNOWN };

const THREAT_VERBS = [
  'kill',
  'stab',
  'shoot',
  'strangle',
  'murder',
  'beat',
  'hurt',
  'burn',
  'choke',
  'hunt down',
];
const THREAT_OPENERS = [
  'I will',
  "I'm going to",
  "I'll",
  'I am going to',
  'im gonna',
  'We will',
  'I swear I will',
];
const THREAT_TAILS = [
  '',
  ' tonight',
  ' tomorrow',
  ' when I find you',
  ' after work',
  ' and your family',
  ' if you say that again',
];
const THIRD_PARTY = [
  'them all',
  'every one of them',
  'all of them',
  'him',
  'her',
  'those people',
  'the lot of them',
];
const CALLS = ['Someone should', 'We need to', 'Somebody needs to', 'It is time to', 'We should'];
const DIRECT = [
  'You deserve to die',
  'I hope you die',
  'Watch your back, you are dead',
  'I will break every bone in your body',
  'You will not live to see next week',
  'I am going to put a bullet in your head',
  'Next time I see you I will smash your face in',
  'Keep talking and I will end you',
  'I will make sure you never walk again',
  'Go die in a fire',
];

/** Violent words used for everything but violence. */
const IDIOMS = [
  'This commute is killing me',
  'My feet are killing me after that hike',
  'The heat today is absolutely killing me',
  'She killed it on stage last night',
  'You killed it with that presentation',
  'I could murder a burger right now',
  'Kill the process and restart the server',
  'Can you kill the lights on your way out',
  'Shoot me an email when you are free',
  'We are going to shoot the video on Sunday',
  'Beat the eggs with the sugar until pale',
  'They beat the record by two seconds',
  'My phone battery died halfway through the call',
  'I was dying of laughter at that scene',
  'Break a leg at the audition tomorrow',
  'We smashed our sales target this quarter',
  'That joke absolutely slayed the room',
  'The new update is a killer feature',
  'I am going to attack this backlog first thing tomorrow',
  'The detective novel opens with a murder in the library',
  'The documentary covers the history of the civil war',
  'He shot the winning goal in the last minute',
  'Our team got crushed in the final, what a game',
  'Stab the potatoes with a fork to check they are done',
  'The suspense in this final episode is killing me',
  'These new shoes are killing me, I need to sit down',
  'You are killing me with these puns, stop',
  'My boss is killing me with all these late emails',
  'I am dead, that video is hilarious',
  'This spreadsheet will be the death of me',
];

/**
 * Violent verbs in praise, complaint and cooking, filled with many subjects, so "kill" alone is not
 * a threat. The issue's own examples ("the deadline is killing me", "the comedian killed it") are
 * not among them.
 */
const IDIOM_TEMPLATES = [
  '{s} absolutely killed it tonight',
  '{s} killed it at the show on Saturday',
  'honestly {s} slayed, what a performance',
  '{s} is killing me, I need a break',
  '{s} is going to be the death of me',
  'I am dying to see {s} again',
  '{s} knocked it out of the park',
  'we just killed some time waiting for {s}',
];
const IDIOM_SUBJECTS = [
  'the band',
  'she',
  'our drummer',
  'the new singer',
  'my little brother',
  'this heat',
  'my back',
  'the traffic',
  'this homework',
  'the wait',
  'the chef',
  'the speaker',
];

const GROUPS = [
  'mexicans',
  'jews',
  'muslims',
  'women',
  'black people',
  'immigrants',
  'gay people',
  'asians',
  'trans people',
  'disabled people',
  'christians',
  'arabs',
  'refugees',
  'indians',
];
const STEREOTYPES = [
  'lazy',
  'criminals',
  'animals',
  'dirty',
  'stupid',
  'greedy',
  'terrorists',
  'a disease',
  'thieves',
  'parasites',
  'perverts',
  'a burden',
];
/** Pairs the hand-written evaluation texts and issue 12's examples use: never generated. */
const HELD_OUT_PAIRS = new Set([
  'mexicans|lazy',
  'muslims|a disease',
  'women|stupid',
  'gay people|perverts',
  'immigrants|animals',
  'black people|criminals',
  'disabled people|a burden',
  'jews|greedy',
]);

const ASSERT = [
  '{g} are {s}',
  'all {g} are {s}',
  'honestly {g} are just {s}',
  '{g} are {s} and everyone knows it',
];
const DENY = [
  '{g} are not {s}',
  'it is wrong to say that {g} are {s}',
  'people who claim {g} are {s} are just ignorant',
  'no, {g} are not {s}, stop spreading that',
  'I am tired of hearing that {g} are {s}, it is a lie',
  'saying all {g} are {s} is bigotry',
];
const NEUTRAL = [
  'my neighbours are {g} and they invited us for dinner',
  'the festival celebrates the history of {g} in our city',
  'a new study looks at how {g} are represented on television',
  'our book club is reading a memoir written by one of the {g} in town',
  'the council met with {g} to discuss the new community centre',
];

const fill = (t: string, g: string, s = ''): string => t.replace('{g}', g).replace('{s}', s);

/** The generated rows, deterministic. */
export function generatedRows(): GeneratedRow[] {
  const rows: GeneratedRow[] = [];
  THREAT_OPENERS.forEach((o, oi) => {
    for (const v of THREAT_VERBS) {
      for (const tail of THREAT_TAILS) {
        rows.push({ text: `${o} ${v} you${tail}`, template: `threat-you-${oi}|${v}`, ...THREAT_YOU });
      }
    }
  });
  CALLS.forEach((c, ci) => {
    for (const v of THREAT_VERBS) {
      for (const who of THIRD_PARTY)
        rows.push({ text: `${c} ${v} ${who}`, template: `call-${ci}|${v}`, ...THREAT_THEM });
    }
  });
  DIRECT.forEach((t, i) => {
    rows.push({ text: t, template: `direct-${i}`, ...THREAT_YOU });
  });
  IDIOMS.forEach((t, i) => {
    rows.push({ text: t, template: `idiom-${i}`, ...HARMLESS, weight: IDIOM_WEIGHT });
  });
  IDIOM_TEMPLATES.forEach((t, i) => {
    for (const s of IDIOM_SUBJECTS) {
      const text = t.replace('{s}', s);
      rows.push({
        text: text.charAt(0).toUpperCase() + text.slice(1),
        template: `idiom-t${i}|${s}`,
        ...HARMLESS,
        weight: IDIOM_WEIGHT,
      });
    }
  });
  for (const g of GROUPS) {
    NEUTRAL.forEach((t, i) => {
      rows.push({ text: fill(t, g), template: `neutral-${i}|${g}`, ...HARMLESS });
    });
    for (const s of STEREOTYPES) {
      if (HELD_OUT_PAIRS.has(`${g}|${s}`)) continue;
      ASSERT.forEach((t, i) => {
        rows.push({ text: fill(t, g, s), template: `assert-${i}|${g}`, ...HATE });
      });
      DENY.forEach((t, i) => {
        rows.push({ text: fill(t, g, s), template: `deny-${i}|${g}`, ...HARMLESS });
      });
    }
  }
  return rows;
}
