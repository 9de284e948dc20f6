//! Parallel parsing of a large top-level JSON array: the buffer is cut at guessed element
//! starts, chunks are parsed on rayon's pool, and a chunk counts only when the chunk before it
//! ended exactly at its start, so a wrong guess costs time, never correctness.

use super::{is_ws, JResult, JsonError, Reader};
use rayon::prelude::*;

impl<'a> Reader<'a> {
    /// Structural skip used only to find where a value ends before it is parsed in parallel:
    /// strings and bracket depth are tracked, nothing else is validated (the real parse does).
    pub fn fast_skip(&mut self) -> JResult<()> {
        self.skip_ws();
        let start = self.pos;
        let b = self.buf;
        if !matches!(b.get(start), Some(b'[' | b'{')) {
            // A scalar: the validating skip handles it.
            return self.skip_value();
        }
        let mut depth: usize = 0;
        let mut p = start;
        loop {
            // Jump over bytes that cannot change the structure.
            while p < b.len() && !STRUCTURAL[b[p] as usize] {
                p += 1;
            }
            let Some(&c) = b.get(p) else {
                self.pos = start;
                return self.err("unexpected end of file inside this value");
            };
            match c {
                b'"' => {
                    p += 1;
                    loop {
                        match memchr::memchr2(b'"', b'\\', &b[p.min(b.len())..]) {
                            None => {
                                self.pos = start;
                                return self.err("unterminated string inside this value");
                            }
                            Some(o) if b[p + o] == b'\\' => p += o + 2,
                            Some(o) => {
                                p += o + 1;
                                break;
                            }
                        }
                    }
                    continue;
                }
                b'[' | b'{' => depth += 1,
                _ => {
                    depth -= 1;
                    if depth == 0 {
                        p += 1;
                        break;
                    }
                }
            }
            p += 1;
        }
        self.pos = p;
        Ok(())
    }
}

/// Bytes that matter to [`Reader::fast_skip`]: quotes, brackets and braces.
static STRUCTURAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'[' as usize] = true;
    t[b']' as usize] = true;
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t
};

/// Outcome of parsing one speculative chunk of an array.
enum ChunkEnd {
    /// Landed exactly on the start of chunk `j`.
    Seam(usize),
    /// Consumed the array's closing `]`; the position after it.
    ArrayEnd(usize),
}

/// Parse the elements of the array whose `[` is at `open`, in parallel.
///
/// The text from `open` to `limit` is cut into chunks at guessed element starts (a `{` after a
/// `,`). Each chunk is parsed on its own thread as if its guess were right. Chunk 0 starts at the
/// true first element; a chunk's result is used only when the chunk before it, itself used, ended
/// exactly at its start — so a wrong guess (say, a `,{` inside a string) costs time, never
/// correctness. `parse` gets a reader positioned at an element start and must consume exactly one
/// element; its errors are prefixed with the element's global index.
///
/// Returns the elements in order and the position just after the closing `]`.
pub fn parse_array_par<'a, T, F>(
    buf: &'a [u8],
    open: usize,
    limit: usize,
    parse: F,
) -> JResult<(Vec<T>, usize)>
where
    T: Send,
    F: Fn(&mut Reader<'a>) -> JResult<T> + Sync,
{
    let (chunks, end) =
        parse_array_par_with(buf, open, limit, |r: &mut Reader<'a>, _: &mut ()| parse(r))?;
    Ok((
        concat_par(chunks.into_iter().map(|(v, ())| v).collect()),
        end,
    ))
}

/// The vectors one after another, moved into one vector by parallel copies (so that the
/// first touch of the new memory and the copying are shared by the threads, not done on one).
pub fn concat_par<T: Send>(mut parts: Vec<Vec<T>>) -> Vec<T> {
    if parts.len() <= 1 {
        return parts.into_iter().next().unwrap_or_default();
    }
    let mut all = Vec::new();
    append_par(&mut all, parts.iter_mut().collect());
    all
}

/// [`parse_array_par`] for parsers that write into a per-chunk state `S` (an arena for the
/// elements' variable-length parts, say) instead of allocating per element. Returns the used
/// chunks in order, each with its elements and its state, without concatenating them.
pub fn parse_array_par_with<'a, T, S, F>(
    buf: &'a [u8],
    open: usize,
    limit: usize,
    parse: F,
) -> JResult<(Vec<(Vec<T>, S)>, usize)>
where
    T: Send,
    S: ChunkState,
    F: Fn(&mut Reader<'a>, &mut S) -> JResult<T> + Sync,
{
    parse_array_par_sized(buf, open, limit, MIN_CHUNK, parse)
}

/// The smallest chunk the parallel parsers cut: arrays shorter than two chunks are parsed on
/// one thread.
pub const MIN_CHUNK: usize = 1 << 19;

/// [`parse_array_par_with`] with chunks as small as `min_chunk` bytes, so that tests and the
/// fuzzer see seams guessed on small inputs.
pub fn parse_array_par_sized<'a, T, S, F>(
    buf: &'a [u8],
    open: usize,
    limit: usize,
    min_chunk: usize,
    parse: F,
) -> JResult<(Vec<(Vec<T>, S)>, usize)>
where
    T: Send,
    S: ChunkState,
    F: Fn(&mut Reader<'a>, &mut S) -> JResult<T> + Sync,
{
    let mut used = Vec::new();
    // All chunks in one wave: each keeps its own vector.
    let end = parse_in_waves(buf, open, limit, min_chunk, usize::MAX, &parse, |wave| {
        used.extend(wave.drain(..));
    })?;
    Ok((used, end))
}

/// [`parse_array_par_with`], with the elements of the used chunks moved into one vector, and
/// each used chunk's element count and state. The chunks are parsed a few per thread at a time
/// into vectors that are emptied into the result and reused, instead of each chunk filling
/// fresh memory that a concatenation then copies into more fresh memory: for LVIS' 1.5M
/// detections (72 MB) that halves the pages the parse touches.
pub fn parse_array_par_joined<'a, T, S, F>(
    buf: &'a [u8],
    open: usize,
    limit: usize,
    min_chunk: usize,
    parse: F,
) -> JResult<(Vec<T>, Vec<(usize, S)>, usize)>
where
    T: Send,
    S: ChunkState,
    F: Fn(&mut Reader<'a>, &mut S) -> JResult<T> + Sync,
{
    let mut all: Vec<T> = Vec::new();
    let mut states = Vec::new();
    let wave = 2 * rayon::current_num_threads().max(1);
    let end = parse_in_waves(buf, open, limit, min_chunk, wave, &parse, |wave| {
        // The emptied vectors stay in `wave`, to be reused.
        for (v, st) in wave.iter_mut() {
            states.push((v.len(), std::mem::take(st)));
        }
        append_par(&mut all, wave.iter_mut().map(|(v, _)| v).collect());
    })?;
    Ok((all, states, end))
}

/// Move the elements of `parts` (in order) to the end of `all`, copying in parallel; the parts
/// are left empty with their capacity.
fn append_par<T: Send>(all: &mut Vec<T>, parts: Vec<&mut Vec<T>>) {
    let total: usize = parts.iter().map(|v| v.len()).sum();
    all.reserve(total);
    let len0 = all.len();
    let mut rest = &mut all.spare_capacity_mut()[..total];
    let mut jobs = Vec::with_capacity(parts.len());
    for part in parts {
        let (dst, tail) = std::mem::take(&mut rest).split_at_mut(part.len());
        jobs.push((part, dst));
        rest = tail;
    }
    jobs.into_par_iter().for_each(|(part, dst)| {
        // SAFETY: `dst` has exactly `part.len()` uninitialised slots, disjoint from every other
        // job's. The elements are moved bitwise, then `part` forgets them (length 0), so each is
        // owned once: by `all` from here on.
        unsafe {
            std::ptr::copy_nonoverlapping(part.as_ptr(), dst.as_mut_ptr().cast::<T>(), part.len());
            part.set_len(0);
        }
    });
    // SAFETY: every slot in `len0..len0 + total` was written above.
    unsafe { all.set_len(len0 + total) };
}

/// The chunk planning and parsing behind [`parse_array_par_sized`] and
/// [`parse_array_par_joined`]: chunks are parsed `wave` at a time in parallel; after each wave
/// the used ones (in order) are handed to `take`, which empties the vector it is given (the
/// emptied vectors are reused for the next wave's chunks). A chunk already known to be skipped
/// (an earlier chunk ran past its start) is not parsed.
fn parse_in_waves<'a, T, S, F>(
    buf: &'a [u8],
    open: usize,
    limit: usize,
    min_chunk: usize,
    wave: usize,
    parse: &F,
    mut take: impl FnMut(&mut Vec<(Vec<T>, S)>),
) -> JResult<usize>
where
    T: Send,
    S: ChunkState,
    F: Fn(&mut Reader<'a>, &mut S) -> JResult<T> + Sync,
{
    let min_chunk = min_chunk.max(1);
    let mut r = Reader::at(buf, open);
    r.begin_array()?;
    r.skip_ws();
    let first_elem = r.pos();
    let span = limit.saturating_sub(first_elem);
    let threads = rayon::current_num_threads().max(1);
    let n_chunks = if span < 2 * min_chunk {
        1
    } else {
        (span / min_chunk).min(threads * 8).max(1)
    };

    // Chunk starts: the true first element, then guesses.
    let mut starts = vec![first_elem];
    for c in 1..n_chunks {
        let nominal = first_elem + span * c / n_chunks;
        if nominal <= *starts.last().unwrap_or(&0) {
            continue;
        }
        if let Some(s) = guess_element_start(buf, nominal, limit) {
            if s > *starts.last().unwrap_or(&0) {
                starts.push(s);
            }
        }
    }

    type Chunk<T, S> = (Vec<T>, S, JResult<ChunkEnd>);
    let parse_chunk = |ci: usize, mut out: Vec<T>| -> Chunk<T, S> {
        out.clear();
        let mut state = S::default();
        let mut r = Reader::at(buf, starts[ci]);
        let mut next = ci + 1;
        // Chunk 0 may start with an empty array.
        if ci == 0 {
            r.skip_ws();
            if buf.get(r.pos()) == Some(&b']') {
                return (out, state, Ok(ChunkEnd::ArrayEnd(r.pos() + 1)));
            }
        }
        loop {
            let idx = out.len();
            match parse(&mut r, &mut state) {
                Ok(v) => out.push(v),
                Err(e) => return (out, state, Err(e.in_index(idx))),
            }
            if idx == 0 {
                // Elements are alike: size the chunk's buffers from the first one (a quarter
                // more; untouched capacity costs no memory), so they are not regrown and copied.
                let chunk_end = starts.get(ci + 1).copied().unwrap_or(limit).max(r.pos());
                let first_len = (r.pos() - starts[ci]).max(1);
                // Capped at one element per 16 bytes of text, so that a tiny first element
                // cannot make a huge reservation.
                let span = chunk_end - starts[ci];
                let estimate = (span / first_len * 5 / 4).min(span / 16) + 16;
                out.reserve(estimate);
                state.reserve_like_first(estimate);
            }
            r.skip_ws();
            match buf.get(r.pos()) {
                Some(b',') => {
                    r.pos += 1;
                    r.skip_ws();
                    if buf.get(r.pos()) == Some(&b']') {
                        return (
                            out,
                            state,
                            Err(JsonError::new(r.pos(), "trailing comma before ']'")),
                        );
                    }
                }
                Some(b']') => return (out, state, Ok(ChunkEnd::ArrayEnd(r.pos() + 1))),
                Some(_) => {
                    let e = r
                        .unexpected::<()>("',' or ']' after an element")
                        .unwrap_err();
                    return (out, state, Err(e));
                }
                None => {
                    return (
                        out,
                        state,
                        Err(JsonError::new(
                            r.pos(),
                            "unexpected end of file: the array is not closed",
                        )),
                    )
                }
            }
            while next < starts.len() && r.pos() > starts[next] {
                next += 1;
            }
            if next < starts.len() && r.pos() == starts[next] {
                return (out, state, Ok(ChunkEnd::Seam(next)));
            }
        }
    };

    // Chunk `ci` is the next one to use; `base` elements come before it.
    let (mut ci, mut base) = (0usize, 0usize);
    let mut pool: Vec<Vec<T>> = Vec::new();
    let mut used: Vec<(Vec<T>, S)> = Vec::new();
    let mut w0 = 0;
    while w0 < starts.len() {
        let w1 = w0.saturating_add(wave.max(1)).min(starts.len());
        let todo: Vec<(usize, Vec<T>)> = (w0.max(ci)..w1)
            .map(|c| (c, pool.pop().unwrap_or_default()))
            .collect();
        let results: Vec<(usize, Chunk<T, S>)> = if todo.len() <= 1 {
            todo.into_iter()
                .map(|(c, out)| (c, parse_chunk(c, out)))
                .collect()
        } else {
            todo.into_par_iter()
                .map(|(c, out)| (c, parse_chunk(c, out)))
                .collect()
        };
        let mut end = None;
        for (c, (items, state, chunk_end)) in results {
            if c != ci || end.is_some() {
                // A wrong guess that an earlier chunk ran past: dropped.
                pool.push(items);
                continue;
            }
            match chunk_end {
                Err(mut e) => {
                    // Re-base the local element index of the path onto the global one.
                    if let Some(rest) = e.path.strip_prefix('[') {
                        if let Some(close) = rest.find(']') {
                            if let Ok(local) = rest[..close].parse::<usize>() {
                                e.path = format!("[{}]{}", base + local, &rest[close + 1..]);
                            }
                        }
                    }
                    return Err(e);
                }
                Ok(ChunkEnd::ArrayEnd(p)) => {
                    used.push((items, state));
                    end = Some(p);
                }
                Ok(ChunkEnd::Seam(j)) => {
                    base += items.len();
                    used.push((items, state));
                    ci = j;
                }
            }
        }
        take(&mut used);
        pool.extend(used.drain(..).map(|(v, _)| v));
        if let Some(p) = end {
            return Ok(p);
        }
        w0 = w1;
    }
    // The last chunk ends the array or fails, and a seam always names a later chunk.
    Err(JsonError::new(
        limit,
        "internal: the parsed chunks did not reach the array's end",
    ))
}

/// The per-chunk state of [`parse_array_par_with`].
pub trait ChunkState: Default + Send {
    /// After a chunk's first element: about `n` elements will follow; make room for them if
    /// each needs what the first one did.
    fn reserve_like_first(&mut self, _n: usize) {}
}

impl ChunkState for () {}

impl<T: Send> ChunkState for Vec<T> {
    fn reserve_like_first(&mut self, n: usize) {
        self.reserve(n.saturating_mul(self.len()));
    }
}

/// First position at or after `from` (and before `limit`) that looks like an object element
/// start: a `{` whose previous non-whitespace byte is `,`.
fn guess_element_start(buf: &[u8], from: usize, limit: usize) -> Option<usize> {
    let mut p = from;
    while p < limit {
        let off = memchr::memchr(b'{', &buf[p..limit])?;
        let q = p + off;
        let mut k = q;
        while k > 0 && is_ws(buf[k - 1]) {
            k -= 1;
        }
        if k > 0 && buf[k - 1] == b',' {
            return Some(q);
        }
        p = q + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object's `id` (the other keys skipped).
    fn read_id(r: &mut Reader<'_>) -> JResult<i128> {
        r.begin_object()?;
        let mut first = true;
        let mut id = None;
        while let Some(k) = r.next_key(&mut first)? {
            if k == "id" {
                id = Some(r.int().map_err(|e| e.in_key("id"))?);
            } else {
                r.skip_value().map_err(|e| e.in_key(&k))?;
            }
        }
        id.ok_or_else(|| JsonError::new(r.pos(), "missing id"))
    }

    fn parse_ids(text: &str) -> JResult<Vec<i128>> {
        let buf = text.as_bytes();
        parse_array_par(buf, 0, buf.len(), read_id).map(|(v, _)| v)
    }

    /// `n` objects with ids 0..n whose strings contain ",{": decoys for the chunk guesser.
    fn decoy_text(n: usize) -> String {
        let mut text = String::from("[");
        for i in 0..n {
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(&format!(
                "{{\"id\": {}, \"s\": \",{{\\\",{{ \", \"x\": [{{\"y\": 1}}, {{\"z\": 2}}]}}",
                i
            ));
        }
        text.push(']');
        text
    }

    #[test]
    fn parallel_array_matches_sequential_even_with_decoy_seams() {
        let text = decoy_text(60000);
        let ids = parse_ids(&text).unwrap();
        assert_eq!(ids.len(), 60000);
        assert!(ids.iter().enumerate().all(|(i, &v)| v == i as i128));
    }

    /// The joined parser over many small chunks (several waves, vectors reused, decoy seams
    /// skipped unparsed) equals the chunked one: elements, per-chunk counts, end, errors.
    #[test]
    fn joined_parse_equals_the_chunked_parse_in_any_pool() {
        let text = decoy_text(3000);
        let bad = text.replacen("{\"id\": 2345,", "{\"id\": 2345.5,", 1);
        let parse = |r: &mut Reader<'_>, seen: &mut Vec<i128>| -> JResult<i128> {
            let id = read_id(r)?;
            seen.push(id);
            Ok(id)
        };
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                for min_chunk in [64, 1000, 1 << 20] {
                    let b = text.as_bytes();
                    let (chunks, end) =
                        parse_array_par_sized(b, 0, b.len(), min_chunk, parse).unwrap();
                    let (all, states, jend) =
                        parse_array_par_joined(b, 0, b.len(), min_chunk, parse).unwrap();
                    assert_eq!(end, jend);
                    assert_eq!(all, (0..3000).collect::<Vec<i128>>());
                    let want: Vec<(usize, Vec<i128>)> =
                        chunks.into_iter().map(|(v, st)| (v.len(), st)).collect();
                    assert_eq!(states, want, "{} threads, chunks of {}", threads, min_chunk);
                    let b = bad.as_bytes();
                    let e1 = parse_array_par_sized(b, 0, b.len(), min_chunk, parse).unwrap_err();
                    let e2 = parse_array_par_joined(b, 0, b.len(), min_chunk, parse).unwrap_err();
                    assert_eq!(e2.path, "[2345].id");
                    assert_eq!((e1.pos, e1.path, e1.message), (e2.pos, e2.path, e2.message));
                }
            });
        }
    }

    #[test]
    fn concat_par_keeps_order_and_owns_once() {
        let parts: Vec<Vec<String>> = vec![
            vec!["a".into(), "b".into()],
            vec![],
            vec!["c".into()],
            (0..1000).map(|i| i.to_string()).collect(),
        ];
        let want: Vec<String> = parts.iter().flatten().cloned().collect();
        assert_eq!(concat_par(parts), want);
        assert_eq!(concat_par(Vec::<Vec<u8>>::new()), Vec::<u8>::new());
        assert_eq!(concat_par(vec![vec![1u8, 2]]), vec![1, 2]);
    }

    #[test]
    fn parallel_array_error_has_global_index() {
        let mut text = String::from("[");
        for i in 0..50000 {
            if i > 0 {
                text.push(',');
            }
            if i == 41234 {
                text.push_str("{\"id\": 1.5}");
            } else {
                text.push_str(&format!(
                    "{{\"id\": {}, \"pad\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}",
                    i
                ));
            }
        }
        text.push(']');
        let e = parse_ids(&text).unwrap_err();
        assert_eq!(e.path, "[41234].id");
        let e = parse_ids("[{\"id\": 1}, {\"id\": 2}").unwrap_err();
        assert!(e.message.contains("not closed"), "{}", e.message);
        assert_eq!(parse_ids("[]").unwrap(), Vec::<i128>::new());
        assert_eq!(parse_ids(" [ {\"id\":3} ] ").unwrap(), vec![3]);
    }
}
