/** What the recording page needs of either player (terminal or video). */
export interface PlayerHandle {
  seek(ms: number): void;
  currentMs(): number;
  durationMs(): number;
}
