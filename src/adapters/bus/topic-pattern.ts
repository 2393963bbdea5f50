/**
 * AMQP topic-exchange matching, so the memory bus routes exactly like RabbitMQ: topics and
 * patterns are dot-separated words, `*` matches exactly one word and `#` zero or more.
 * As in RabbitMQ, the empty string has zero words (so `#` matches it and `*` does not).
 */
export type TopicMatcher = (topic: string) => boolean;

const words = (s: string): string[] => (s === '' ? [] : s.split('.'));

export function compileTopicPattern(pattern: string): TopicMatcher {
  const pat = words(pattern);
  if (!pat.some((w) => w === '*' || w === '#')) return (topic) => topic === pattern;
  return (topic) => matchWords(pat, words(topic));
}

export function topicMatches(pattern: string, topic: string): boolean {
  return compileTopicPattern(pattern)(topic);
}

/** Runs the pattern over the topic keeping the set of reachable positions: O(pattern × topic). */
function matchWords(pat: string[], topic: string[]): boolean {
  let reach: boolean[] = [true];
  for (const w of pat) {
    const next: boolean[] = [];
    if (w === '#') {
      const first = reach.indexOf(true);
      if (first < 0) return false;
      for (let j = first; j <= topic.length; j++) next[j] = true;
    } else {
      for (let j = 0; j < topic.length; j++) {
        if (reach[j] && (w === '*' || w === topic[j])) next[j + 1] = true;
      }
    }
    reach = next;
  }
  return reach[topic.length] === true;
}
