-- Headless Neovim as a language client, for tests/e2e/neovim.test.mjs.
-- Run as: nvim --headless -u NONE -c 'luafile client.lua' (Neovim 0.7 has
-- no -l). Everything comes from the environment:
--   NVIM_LSP_CMD    the server command, as a JSON array
--   NVIM_LSP_ROOT   the workspace folder (also the server's cwd)
--   NVIM_LSP_FILE   the file to open, relative to the root
--   NVIM_LSP_ASK    JSON array of {method, line, character} (0-based)
--   NVIM_LSP_OUT    where to write the JSON result: {answers = [...]} or
--                   {error = "..."}
-- It starts the client with vim.lsp.start_client, opens the file, attaches
-- it, asks each question with vim.lsp.buf_request_sync (a hover is asked
-- again until it is not null: the workspace is loading), stops the client
-- (shutdown, exit) and quits with status 0, or 1 after writing the error.
local env = vim.env
local out = {}

local function finish(err)
  if err then out = { error = err } end
  local f = assert(io.open(env.NVIM_LSP_OUT, 'w'))
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd(err and 'cquit 1' or 'qall!')
end

local function run()
  local root = env.NVIM_LSP_ROOT
  local inited = false
  local id = vim.lsp.start_client({
    name = 'gopls',
    cmd = vim.fn.json_decode(env.NVIM_LSP_CMD),
    cmd_cwd = root,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = 'example' } },
    on_init = function() inited = true end,
  })
  if not id then return finish('vim.lsp.start_client failed') end
  if not vim.wait(60000, function() return inited end, 50) then
    return finish('no initialize result within 60 s')
  end

  vim.cmd('edit ' .. vim.fn.fnameescape(root .. '/' .. env.NVIM_LSP_FILE))
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].filetype = 'go' -- -u NONE: no filetype detection; didOpen's languageId
  vim.lsp.buf_attach_client(buf, id)

  local answers = {}
  for _, q in ipairs(vim.fn.json_decode(env.NVIM_LSP_ASK)) do
    local params = {
      textDocument = { uri = vim.uri_from_bufnr(buf) },
      position = { line = q.line, character = q.character },
    }
    local deadline = vim.loop.now() + 60000
    local result
    repeat
      local res, err = vim.lsp.buf_request_sync(buf, q.method, params, 20000)
      if not res then return finish(q.method .. ': ' .. tostring(err)) end
      local r = res[id]
      if not r then return finish(q.method .. ': no answer from the client') end
      if r.err then return finish(q.method .. ': ' .. vim.inspect(r.err)) end
      result = r.result
      if result == nil then vim.wait(200) end
    until result ~= nil or vim.loop.now() > deadline
    if result == nil then return finish(q.method .. ' stayed null for 60 s') end
    table.insert(answers, { method = q.method, result = result })
  end
  out.answers = answers

  vim.lsp.stop_client(id)
  if not vim.wait(20000, function() return vim.lsp.client_is_stopped(id) end, 50) then
    return finish('the client did not stop within 20 s')
  end
  finish(nil)
end

local ok, err = pcall(run)
if not ok then finish('lua error: ' .. tostring(err)) end
