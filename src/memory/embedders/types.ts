/**
 * Turns texts into vectors. Implementations: the offline default built from GloVe word vectors
 * shipped in an npm package, and an OpenAI-compatible HTTP embedder (Ollama, llama.cpp, vLLM,
 * OpenAI). Every stored vector records `id`, so a changed embedder is detected, never mixed.
 */
export interface Embedder {
  /** Stable identity of the model and its settings, e.g. "glove-wink-100d-sif@1" or "http:nomic-embed-text". */
  readonly id: string;
  /** Vector length. For HTTP embedders it may be unknown (0) until the first call. */
  readonly dimensions: number;
  /**
   * How far hybrid search trusts this embedder's ranking next to full text (reciprocal rank fusion
   * weight; full text has 1). Default 1; the offline word-vector embedder ranks less sharply than
   * BM25, so it sets less.
   */
  readonly fusionWeight?: number;
  /** Embeds a batch; vectors are L2-normalised so cosine similarity is a dot product. */
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<Float32Array[]>;
  /** Releases anything held (worker, sockets). */
  close?(): Promise<void>;
}
