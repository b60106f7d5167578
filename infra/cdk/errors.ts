/**
 * Thrown at synth when `Rapport` props cannot describe a working deployment.
 * Lists every problem at once, each naming the prop, so one run shows them all.
 */
export class RapportPropsError extends Error {
  override readonly name = 'RapportPropsError';

  constructor(
    /** Construct path of the `Rapport` instance, e.g. `Rapport-dev/Rapport`. */
    readonly constructPath: string,
    /** One message per problem, each starting with the prop it concerns. */
    readonly problems: readonly string[],
  ) {
    super(`Invalid props for ${constructPath}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}
