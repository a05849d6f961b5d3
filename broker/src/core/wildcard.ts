// Topic wildcards (ActiveMQ style): elements separated by `.`, `*` matches exactly one element,
// `>` as the last element matches one or more trailing elements. Used by subscriptions, never sends.

export type TopicMatcher = (path: string) => boolean;

/** Compiles a pattern (already validated by parseDestination) into a matcher over topic paths. */
export function compileTopicPattern(pattern: string): TopicMatcher {
  const elements = pattern.split('.');
  const tail = elements[elements.length - 1] === '>';
  const fixed = tail ? elements.slice(0, -1) : elements;
  return (path) => {
    const parts = path.split('.');
    if (tail ? parts.length <= fixed.length : parts.length !== fixed.length) return false;
    for (let i = 0; i < fixed.length; i++) {
      const element = fixed[i]!;
      if (element !== '*' && element !== parts[i]) return false;
    }
    return true;
  };
}
