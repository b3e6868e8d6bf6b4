/**
 * What `autoresearch init` can tell about a project from its top-level files: the language, the
 * test command worth running as `checks:`, the installed dependencies sealed experiments need to
 * see, and examples and hints in that language. Pure: the caller lists the folder and reads files.
 */

type Language = 'node' | 'python' | 'rust' | 'go';

export interface Project {
  language: Language | null;
  /** A name for the "detected:" line. */
  description: string;
  /** The test command, when the project has tests: the default answer for `checks:`. */
  checks?: string;
  /** Untracked folders of installed dependencies that exist here (node_modules, .venv). */
  dependencies: string[];
  /** A run command and an editable file to show in examples and fixes. */
  example: { run: string; editable: string };
  /** How an experiment in this language reads its time budget. */
  budgetHint: string;
}

/**
 * @param files the names at the top of the folder (files and folders)
 * @param read the text of a top-level file, or null
 */
export function detectProject(files: string[], read: (file: string) => string | null): Project {
  const has = (f: string) => files.includes(f);
  const deps = (names: string[]) => names.filter(has);
  if (has('Cargo.toml'))
    return {
      language: 'rust',
      description: 'Rust project (Cargo.toml)',
      checks: 'cargo test',
      dependencies: [],
      example: { run: 'cargo run --release', editable: 'src/main.rs' },
      budgetHint: 'std::env::var("AUTORESEARCH_TIME_BUDGET")',
    };
  if (has('go.mod'))
    return {
      language: 'go',
      description: 'Go module (go.mod)',
      checks: 'go test ./...',
      dependencies: [],
      example: { run: 'go run .', editable: 'main.go' },
      budgetHint: 'os.Getenv("AUTORESEARCH_TIME_BUDGET")',
    };
  // A Python project with a package.json for its tooling is still a Python project.
  const pythonProject = PYTHON_FILES.some(has);
  if (has('package.json') && !pythonProject) {
    const checks = npmTest(read('package.json'));
    return {
      language: 'node',
      description: 'Node project (package.json)',
      ...(checks ? { checks } : {}),
      dependencies: deps(['node_modules']),
      example: { run: 'node bench.js', editable: 'src/index.js' },
      budgetHint: 'Number(process.env.AUTORESEARCH_TIME_BUDGET)',
    };
  }
  if (pythonProject || files.some((f) => f.endsWith('.py'))) {
    const uv = has('uv.lock');
    const checks = hasPytest(files, read) ? (uv ? 'uv run pytest' : 'pytest') : undefined;
    return {
      language: 'python',
      description: `Python project${uv ? ' (uv)' : ''}`,
      ...(checks ? { checks } : {}),
      dependencies: deps(['.venv', 'venv']),
      example: { run: uv ? 'uv run train.py' : 'python train.py', editable: 'train.py' },
      budgetHint: 'float(os.environ["AUTORESEARCH_TIME_BUDGET"])',
    };
  }
  return {
    language: null,
    description: 'no known project files',
    dependencies: [],
    example: { run: './bench.sh', editable: 'src/' },
    budgetHint: '$AUTORESEARCH_TIME_BUDGET',
  };
}

const PYTHON_FILES = ['pyproject.toml', 'requirements.txt', 'setup.py', 'setup.cfg', 'uv.lock'];

/** `npm test` when package.json has a test script other than npm's placeholder. */
function npmTest(packageJson: string | null): string | undefined {
  if (!packageJson) return undefined;
  try {
    const test = (JSON.parse(packageJson) as { scripts?: { test?: unknown } }).scripts?.test;
    if (typeof test !== 'string' || !test.trim()) return undefined;
    return /no test specified/.test(test) ? undefined : 'npm test';
  } catch {
    return undefined;
  }
}

function hasPytest(files: string[], read: (file: string) => string | null): boolean {
  if (['tests', 'test', 'pytest.ini', 'conftest.py'].some((f) => files.includes(f))) return true;
  if (files.some((f) => /^test_.*\.py$|_test\.py$/.test(f))) return true;
  const config = (file: string, section: RegExp) =>
    files.includes(file) && section.test(read(file) ?? '');
  return (
    config('pyproject.toml', /^\[tool\.pytest/m) ||
    config('setup.cfg', /^\[tool:pytest\]/m) ||
    config('tox.ini', /^\[pytest\]/m)
  );
}

/** minimize or maximize, guessed from a metric's name (a default answer, never a decision). */
export function guessGoal(metric: string): 'minimize' | 'maximize' | null {
  const m = metric.toLowerCase();
  if (
    /acc|score|f1|auc|bleu|rouge|reward|precision|recall|ndcg|iou|throughput|speedup|per_?s(ec)?$|_ps$|ops|qps|rps|hit_?rate/.test(
      m,
    )
  )
    return 'maximize';
  if (
    /loss|err|bpb|bpc|perplex|ppl|nll|mse|mae|regret|latency|time|_ms$|^ms$|_us$|_ns$|seconds|_s$|bytes|mem|_gb$|_mb$|cost|size|wer|cer/.test(
      m,
    )
  )
    return 'minimize';
  return null;
}
