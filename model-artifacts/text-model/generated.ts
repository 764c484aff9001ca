/**
 * Text the project writes itself to fill gaps the thirteen sources leave (docs: text-toxicity model
 * card, "Generated text"): direct threats (the sources hold about 580 threats, most of them sexist
 * threats from EDOS), violent idioms that are not threats ("this commute is killing me"), and
 * statements about identity groups in three forms: the stereotype asserted (hate), the same
 * stereotype denied or rejected (counter-speech, negation: not hate) and a neutral mention.
 * Since 2.1 also: implicit hate without a stereotype word (exclusion, conspiracy, dehumanising
 * comparisons), counter-speech that quotes a slur to condemn it, insults with no threat in them (so
 * an insult is harassment, not violence), everyday uses of "hate" and of violent verbs with objects
 * ("kill the lights", "shoot me a text"), and short harmless fragments ("a", "ok", "the"): a text
 * window of one or two common words must score as what it is, nothing.
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
/**
 * Weight of a generated insult: the sources label threats only among abuse that is also insulting
 * and mask violence on the rest of their abuse, so without these an insult drifts towards violence.
 */
const INSULT_WEIGHT = 2;

const ALL_KNOWN: Labels5 = [1, 1, 1, 1, 1];
/** Threat aimed at the reader: violence and harassment, not hate or sexual harassment; profanity unknown. */
const THREAT_YOU = { y: [0, 1, 0, 1, 0] as Labels5, mask: [1, 1, 0, 1, 1] as Labels5 };
/** Call for violence against a group or a third party: violence, not sexual; hate and harassment depend on who. */
const THREAT_THEM = { y: [0, 0, 0, 1, 0] as Labels5, mask: [0, 0, 0, 1, 1] as Labels5 };
const HATE = { y: [1, 0, 0, 0, 0] as Labels5, mask: [1, 0, 0, 0, 0] as Labels5 };
const HARMLESS = { y: [0, 0, 0, 0, 0] as Labels5, mask: ALL_KNOWN };
/** An insult aimed at the reader with no threat in it: harassment, and explicitly not violence. */
const INSULT = { y: [0, 1, 0, 0, 0] as Labels5, mask: [1, 1, 0, 1, 1] as Labels5 };
/** A slur quoted to condemn it: no hate, no harassment, no threat; whether quoting it is offensive is left open. */
const QUOTED = { y: [0, 0, 0, 0, 0] as Labels5, mask: [1, 1, 0, 1, 1] as Labels5 };

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
  // Since 2.1: the encyclopaedic and everyday mentions a talk page or a forum is full of.
  'the article on the history of {g} in europe needs better sources',
  '{g} have lived in this region for centuries',
  'this section about the culture of {g} is missing citations',
  'the museum opened an exhibition about {g} and their traditions',
  'a lot of {g} work at the hospital down the road',
  'the survey asked {g} about their experience of finding housing',
  'support groups for {g} meet every tuesday at the library',
  'the documentary follows three {g} starting their own businesses',
  'schools should teach more about the contributions of {g}',
  '{g} deserve the same rights and respect as everyone else',
];

/** Insults without a threat: "you are a worthless idiot" is harassment, never violence on its own. */
const INSULT_TEMPLATES = [
  'you are a {a} {n}',
  'you {a} {n}',
  'shut up, you {a} {n}',
  'what a {a} {n} you are',
  'nobody cares what you think, you {n}',
  'you are the most {a} {n} on this site',
  'get lost, {n}',
  'are you really this {a}? what a {n}',
];
const INSULT_ADJECTIVES = ['worthless', 'pathetic', 'stupid', 'useless', 'ugly', 'brainless', 'clueless'];
const INSULT_NOUNS = ['idiot', 'loser', 'moron', 'clown', 'waste of space', 'joke', 'fool', 'imbecile'];

/** Everyday objects of violent verbs and of "hate": not a threat, not hate, not abuse. */
const EVERYDAY_TEMPLATES = [
  'can you {v} the {o} please',
  'remember to {v} the {o} before you go',
  "don't forget to {v} the {o}",
  'I had to {v} the {o} twice today',
];
const EVERYDAY_VERB_OBJECTS: [string, string[]][] = [
  ['kill', ['engine', 'music', 'power', 'app', 'task', 'noise']],
  ['shoot', ['photos', 'scene', 'trailer']],
  ['beat', ['traffic', 'deadline', 'batter', 'high score']],
  ['smash', ['garlic', 'biscuits']],
];
const SHOOT_MESSAGE = [
  'shoot me a {m} when you land',
  'just shoot us a {m} if plans change',
  'I will shoot you a {m} tonight with the details',
];
const MESSAGES = ['text', 'message', 'line', 'quick note', 'reply'];
const HATE_EVERYDAY = [
  'I hate {x}',
  'honestly I hate {x} so much',
  'ugh, I really hate {x}',
  'does anyone else hate {x}?',
];
const EVERYDAY_DISLIKES = [
  'mondays',
  'waiting in line',
  'this weather',
  'traffic jams',
  'cold coffee',
  'losing my keys',
  'spoilers',
  'when the wifi drops',
  'doing the dishes',
  'early meetings',
];

/**
 * Implicit hate: no stereotype word, the attack is in the claim (exclusion, conspiracy,
 * dehumanising comparison). The issue's own two examples (a group refused as workers, a group said
 * to control banks and media) are not generated for the groups they name.
 */
const IMPLICIT = [
  '{g} should go back to where they came from',
  'I would never let one of those {g} into my house',
  '{g} are ruining this country and nobody does anything',
  'keep {g} out of our neighbourhood',
  '{g} do not belong here and never will',
  'we need to stop {g} from breeding',
  'you can always tell when {g} have moved into an area, it goes downhill',
  '{g} are vermin',
  'I would not trust any of those {g} with my money',
  'our schools were fine before the {g} showed up',
];
const CONSPIRACY = [
  '{g} secretly run the {i}',
  'wake up, {g} control the {i}',
  'it is always {g} behind the {i}, open your eyes',
];
const INSTITUTIONS = ['government', 'media', 'banks', 'schools', 'courts'];
const HELD_OUT_IMPLICIT = new Set(['jews|conspiracy']);

/** Quoting abuse to reject it (counter-speech): the slur is named, the speaker condemns it. */
const QUOTING = [
  'calling someone a {w} is disgusting and you should be ashamed',
  'he called me a {w} and I reported him',
  'if you use the word {w} in this chat you will be banned',
  'stop saying {w}, it is a slur',
  'my teacher explained why {w} is a hateful word',
  'being called a {w} at school still hurts years later',
];
const QUOTED_SLURS = ['faggot', 'retard', 'tranny', 'chink', 'spic', 'kike', 'dyke', 'wetback'];

/** Positive or neutral first-person identity statements (the Wikipedia identity comments' other half). */
const IDENTITY_SELF = [
  'I am proud to be {g1}',
  'as {g1} I think this policy is a good idea',
  'being {g1} has never stopped me from doing what I love',
  'my best friend is {g1} and we have known each other since school',
];
const IDENTITY_SINGULAR = [
  'a gay man',
  'a lesbian',
  'a muslim',
  'a jew',
  'a black woman',
  'an immigrant',
  'a trans woman',
  'a deaf person',
  'a mexican american',
  'an older woman',
];

/** Threats by deed rather than verb: coming to where the reader lives. */
const THREAT_DEEDS = [
  'I know where you live',
  'I am going to find where you live',
  'I will come to your house tonight and {d}',
  'I know where you live and I will {d}',
  'we found your address, we will {d}',
];
const DEEDS = ['burn it down', 'make you pay', 'hurt your kids', 'end you', 'break your legs'];

/**
 * Short harmless fragments: a window of one to three common words. Scored alone, an embedding bag
 * gives such a fragment the whole weight of a word that is common in abuse ("a", "you", "are").
 */
const FRAGMENT_WORDS = [
  'a',
  'the',
  'you',
  'are',
  'is',
  'it',
  'ok',
  'okay',
  'yes',
  'no',
  'hi',
  'hey',
  'lol',
  'thanks',
  'what',
  'why',
  'so',
  'and',
  'but',
  'me',
  'my',
  'your',
  'this',
  'that',
  'oh',
  'wow',
  'sure',
  'i',
  'we',
  'they',
  'he',
  'she',
  'here',
  'there',
  'now',
  'then',
  'maybe',
  'please',
  'sorry',
];
const FRAGMENT_PAIRS = [
  'you are',
  'are you',
  'i am',
  'it is',
  'is it',
  'thank you',
  'see you',
  'you too',
  'me too',
  'oh no',
  'of course',
  'not yet',
  'a lot',
  'the end',
  'for you',
  'to you',
  'you guys',
  'hey you',
  'good one',
  'you know',
  'a bit',
  'so true',
  'same here',
  'what is',
  'who are you',
  'you are right',
  'you?',
  'you!',
  'and you?',
  'you there?',
  'you again',
  'only you',
  'you and me',
  'you first',
  'how are you',
  'you sure?',
  'if you say so',
  'you were right',
  'you did it',
  'up to you',
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
  extendedRows(rows);
  return rows;
}

/** The rows added in 2.1 (see the module comment). */
function extendedRows(rows: GeneratedRow[]): void {
  INSULT_TEMPLATES.forEach((t, i) => {
    INSULT_NOUNS.forEach((n, j) => {
      for (const offset of [0, 3, 5]) {
        const a = INSULT_ADJECTIVES[(i + j + offset) % INSULT_ADJECTIVES.length] ?? '';
        rows.push({
          text: t.replace('{a}', a).replace('{n}', n),
          template: `insult-${i}|${n}`,
          ...INSULT,
          weight: INSULT_WEIGHT,
        });
      }
    });
  });
  // The same threats with an insult beside them: an insult makes a threat no less of one.
  THREAT_OPENERS.forEach((o, oi) => {
    THREAT_VERBS.slice(0, 5).forEach((v, vi) => {
      const n = INSULT_NOUNS[(oi + vi) % INSULT_NOUNS.length] ?? '';
      const a = INSULT_ADJECTIVES[(oi + 2 * vi) % INSULT_ADJECTIVES.length] ?? '';
      rows.push({
        text: `${o} ${v} you, you ${a} ${n}`,
        template: `threat-insult-${oi}|${v}`,
        ...THREAT_YOU,
      });
      rows.push({
        text: `you ${a} ${n}, ${o.toLowerCase()} ${v} you`,
        template: `insult-threat-${oi}|${v}`,
        ...THREAT_YOU,
      });
    });
  });
  EVERYDAY_TEMPLATES.forEach((t, i) => {
    for (const [v, objects] of EVERYDAY_VERB_OBJECTS)
      for (const o of objects)
        rows.push({
          text: t.replace('{v}', v).replace('{o}', o),
          template: `everyday-${i}|${v}`,
          ...HARMLESS,
          weight: IDIOM_WEIGHT,
        });
  });
  SHOOT_MESSAGE.forEach((t, i) => {
    for (const m of MESSAGES)
      rows.push({
        text: t.replace('{m}', m),
        template: `message-${i}|${m}`,
        ...HARMLESS,
        weight: IDIOM_WEIGHT,
      });
  });
  HATE_EVERYDAY.forEach((t, i) => {
    for (const x of EVERYDAY_DISLIKES)
      rows.push({
        text: t.replace('{x}', x),
        template: `dislike-${i}|${x}`,
        ...HARMLESS,
        weight: IDIOM_WEIGHT,
      });
  });
  for (const g of GROUPS) {
    IMPLICIT.forEach((t, i) => {
      rows.push({ text: fill(t, g), template: `implicit-${i}|${g}`, ...HATE });
    });
    if (!HELD_OUT_IMPLICIT.has(`${g}|conspiracy`))
      CONSPIRACY.forEach((t, i) => {
        for (const inst of INSTITUTIONS)
          rows.push({ text: fill(t, g).replace('{i}', inst), template: `conspiracy-${i}|${g}`, ...HATE });
      });
  }
  QUOTING.forEach((t, i) => {
    for (const w of QUOTED_SLURS)
      rows.push({ text: t.replace('{w}', w), template: `quoting-${i}|${w}`, ...QUOTED });
  });
  IDENTITY_SELF.forEach((t, i) => {
    for (const g1 of IDENTITY_SINGULAR)
      rows.push({ text: t.replace('{g1}', g1), template: `self-${i}|${g1}`, ...HARMLESS });
  });
  THREAT_DEEDS.forEach((t, i) => {
    const deeds = t.includes('{d}') ? DEEDS : [''];
    for (const d of deeds)
      rows.push({ text: t.replace('{d}', d), template: `deed-${i}|${d}`, ...THREAT_YOU });
  });
  for (const w of [...FRAGMENT_WORDS, ...FRAGMENT_PAIRS])
    rows.push({ text: w, template: `fragment|${w}`, ...HARMLESS, weight: IDIOM_WEIGHT });
}
