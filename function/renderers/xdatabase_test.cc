// Tests of function/renderers/xdatabase.cc.
