// Thrown (or recorded) when the offline normalizer cannot be sure what iptables would print.
export class Unsure extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}
